//! One typed reader per kernel cgroup file (v2 and v1). Parsers are pure (`&str` in, typed
//! struct out, error naming the file); I/O is a thin layer on top.
//! (Implemented by the collector work, issue 3.)
