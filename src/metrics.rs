//! Prometheus metrics of the agent (names fixed by interface.md). (Issue 5.)
