//! Kubernetes side: pod metadata from the kubelet (`/pods`) or the API server, node signals
//! from `/stats/summary`, and Events. (Issue 6.)
