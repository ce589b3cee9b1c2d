//! Discover the cgroup mode (v2 / v1 / hybrid), the kubepods hierarchy and every container
//! cgroup in it (systemd and cgroupfs drivers), or host mode. (Issue 3.)
