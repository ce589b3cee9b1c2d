//! Feature extraction from a container history. (Issue 4.)
