//! API-server pod source: a kube-runtime watcher on the pods of this node
//! (`fieldSelector=spec.nodeName=<node>`, RBAC `pods get/list/watch`), used when the kubelet
//! refuses `/pods` (no `nodes/pods` permission) or cannot be reached.
//!
//! Memory stays bounded by the pods of *this* node, not the cluster: the field selector
//! filters server-side, the initial list is paged, and every Pod is reduced to a
//! [`PodEntry`] (names, IDs, restarts, reasons) the moment it arrives, so managed fields,
//! specs and annotations are never kept. That compact map is our reflector store; kube's
//! `reflector::Store` would keep whole Pods.
//!
//! Must not: watch pods cluster-wide, ask for `nodes/proxy`, or block the sweep.
use super::pods::{PodEntry, PodIndex};
use crate::error::Error;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Page size of the initial list (bounds one response even on a 250-pod node).
const PAGE_SIZE: u32 = 100;

/// Build an API-server client: `url` for tests (`http://127.0.0.1:PORT`, no auth), else the
/// usual inference (in-cluster service account, or `$KUBECONFIG`).
pub async fn client(url: Option<&str>, connect_timeout: Duration) -> crate::Result<kube::Client> {
    let cfg = match url {
        Some(u) => {
            let uri = u
                .parse()
                .map_err(|e| Error::Kube(format!("invalid API server URL {u:?}: {e}")))?;
            kube::Config::new(uri)
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| Error::Kube(format!("no API server config: {e}")))?,
    };
    super::client::build(&cfg, connect_timeout)
}

/// Field selector for the pods scheduled on `node`.
pub fn node_selector(node: &str) -> String {
    format!("spec.nodeName={node}")
}

/// One paged list of this node's pods (for `collect --once`).
pub async fn list_once(
    client: kube::Client,
    node: &str,
    timeout: Duration,
) -> crate::Result<Vec<Pod>> {
    let api: Api<Pod> = Api::all(client);
    let mut lp = ListParams::default()
        .fields(&node_selector(node))
        .limit(PAGE_SIZE);
    let mut out = Vec::new();
    let fetch = async {
        loop {
            let page = api
                .list(&lp)
                .await
                .map_err(|e| Error::Kube(format!("API list pods: {e}")))?;
            out.extend(page.items);
            match page.metadata.continue_ {
                Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
                _ => return Ok::<(), Error>(()),
            }
        }
    };
    tokio::time::timeout(timeout, fetch)
        .await
        .map_err(|_| Error::Kube("API list pods: timed out".into()))??;
    Ok(out)
}

/// What the watch task reports to its owner.
#[derive(Debug)]
pub enum Update {
    /// A complete, current index (after the initial list and after every change).
    Index(PodIndex),
    /// The watch failed (it retries with backoff by itself).
    Error(String),
}

/// Watch this node's pods forever, reporting through `report`. Returns only if `report`
/// asks to stop (returns false).
pub async fn watch(client: kube::Client, node: String, mut report: impl FnMut(Update) -> bool) {
    let api: Api<Pod> = Api::all(client);
    let cfg = watcher::Config::default()
        .fields(&node_selector(&node))
        .page_size(PAGE_SIZE);
    let mut stream = std::pin::pin!(watcher::watcher(api, cfg).default_backoff());
    let mut live: HashMap<String, PodEntry> = HashMap::new();
    let mut building: HashMap<String, PodEntry> = HashMap::new();
    let mut synced = false;
    while let Some(ev) = stream.next().await {
        let changed = match ev {
            Ok(Event::Init) => {
                building.clear();
                false
            }
            Ok(Event::InitApply(p)) => {
                if let Some(e) = PodEntry::from_pod(&p) {
                    building.insert(e.uid.clone(), e);
                }
                false
            }
            Ok(Event::InitDone) => {
                live = std::mem::take(&mut building);
                synced = true;
                true
            }
            Ok(Event::Apply(p)) => PodEntry::from_pod(&p)
                .is_some_and(|e| live.insert(e.uid.clone(), e.clone()) != Some(e)),
            Ok(Event::Delete(p)) => p
                .metadata
                .uid
                .as_ref()
                .is_some_and(|u| live.remove(u).is_some()),
            Err(e) => {
                if !report(Update::Error(e.to_string())) {
                    return;
                }
                false
            }
        };
        if changed
            && synced
            && !report(Update::Index(PodIndex::new(
                live.values(),
                Instant::now(),
                "api",
            )))
        {
            return;
        }
    }
}
