//! HTTP server (hyper 1.x, no framework): /metrics, /predict, /healthz, /readyz. (Issue 5.)
