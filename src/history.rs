//! Bounded per-container sample history. (Issue 4.)
