//! Node readings from procfs: /proc/meminfo and /proc/pressure/*. (Issue 3.)
