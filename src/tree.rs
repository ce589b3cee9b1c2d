//! Writes synthetic cgroup trees that look like a real node (used by benches, `demo`, soak
//! tests): one container's files from a [`crate::sample::Sample`]. (Issue 3.)
