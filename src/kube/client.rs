//! Builds kube `Client`s (for the kubelet and the API server) from a `kube::Config`, using
//! kube's own layers — base URI, auth (token file re-read on rotation), rustls connector
//! with the Config's CA / `accept_invalid_certs` — but without kube's default `TraceLayer`.
//!
//! Why not `kube::Client::try_from(config)`: that stack logs an `ERROR failed with error …`
//! line for every failed request. During an outage (kubelet down, API server unreachable)
//! that is one unthrottled ERROR per retry, which defeats the rate-limited outage log of
//! this module. Must not: add retries (callers own retry and backoff).
use crate::error::Error;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kube::client::ConfigExt;
use std::time::Duration;
use tower::{BoxError, ServiceBuilder};

/// A quiet client for `cfg`, with a TCP connect timeout. Must be called inside a tokio
/// runtime (the connection pool spawns its tasks there).
pub fn build(cfg: &kube::Config, connect_timeout: Duration) -> crate::Result<kube::Client> {
    let mut http = HttpConnector::new();
    // The https connector below decides per URI; plain http stays allowed for tests.
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    let https = cfg
        .rustls_https_connector_with_connector(http)
        .map_err(|e| Error::Kube(format!("TLS setup: {e}")))?;
    let pool = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .build::<_, kube::client::Body>(https);
    let auth = cfg
        .auth_layer()
        .map_err(|e| Error::Kube(format!("auth setup: {e}")))?;
    let service = ServiceBuilder::new()
        .layer(cfg.base_uri_layer())
        .option_layer(auth)
        .map_err(BoxError::from)
        .service(pool);
    Ok(kube::Client::new(service, cfg.default_namespace.clone()))
}
