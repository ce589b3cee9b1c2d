//! Eviction: whom the kubelet evicts first when the node runs short of memory. A container's
//! place in the kubelet's order among the pods whose requests are known ([`Standing`],
//! `eviction_first`) and, where neither the node's memory nor the requests are known, a pod
//! growing elsewhere that outranks a bystander (`grower_elsewhere`). Apart because these read
//! other containers' state, not the sample's own; [`Predictor::observe`] applies their
//! verdicts to the features before the risk is assessed.
use super::{Predictor, SIBLING_FRESH_S};
use crate::features;
use crate::sample::pod_of;
use std::collections::HashMap;

/// A container's place in the kubelet's eviction order, as of its last sample.
#[derive(Debug, Clone, Copy)]
pub(super) struct Standing {
    pub(super) ts: f64,
    /// Working set, bytes (what the kubelet counts as a pod's memory usage).
    pub(super) ws: u64,
    /// Memory request, bytes (0 for none).
    pub(super) request: u64,
    /// Pod priority (0 unless the kubelet gave one).
    pub(super) priority: i32,
    /// Not Guaranteed and not critical: a pod the kubelet evicts under memory pressure.
    pub(super) evictable: bool,
}

/// A container without a memory limit seen growing on a node whose memory the samples do not
/// give ([`features::Features::grows_on_unknown_node`]), as of its last such sample.
#[derive(Debug, Clone, Copy)]
pub(super) struct Grower {
    pub(super) ts: f64,
    /// Growth, bytes per second ([`features::Features::ws_rise_5m`]).
    pub(super) rise: f64,
    /// Working set, bytes.
    pub(super) ws: f64,
    /// Of a BestEffort pod (no request at all).
    pub(super) besteffort: bool,
}

impl Predictor {
    /// Drops the `growers` not seen growing for [`features::SQUEEZE_WINDOW`] at `now`: past it
    /// no cache loss they could explain is still counted.
    pub(super) fn forget_gone_growers(growers: &mut HashMap<String, Grower>, now: f64) {
        growers.retain(|_, g| g.ts >= now - features::SQUEEZE_WINDOW);
    }

    /// When one of `growers` of a pod other than `id`'s that goes before it was last seen
    /// growing (the latest such): it grows more than `own_rise` (bytes per second; `None` for
    /// a grower, which is not judged by its pace) by a factor of 1 /
    /// [`features::BYSTANDER_SHARE`], or it is larger than `own_ws` (bytes) and not of a lower
    /// class (`own_besteffort`). The kubelet evicts the pod whose usage exceeds its request the
    /// most: with the requests unknown, the larger usage is the better guess, but only within
    /// a class, since a BestEffort pod's whole usage exceeds its (zero) request and a
    /// Burstable one's does not.
    pub(super) fn grower_elsewhere(
        growers: &HashMap<String, Grower>,
        id: &str,
        own_rise: Option<f64>,
        own_ws: Option<f64>,
        own_besteffort: bool,
    ) -> Option<f64> {
        let pod = pod_of(id).unwrap_or(id);
        growers
            .iter()
            .filter(|(other, g)| {
                let larger = own_ws.is_some_and(|w| w < g.ws) && (g.besteffort || !own_besteffort);
                let slower = own_rise.is_some_and(|r| r < features::BYSTANDER_SHARE * g.rise);
                (slower || larger) && pod_of(other).unwrap_or(other) != pod
            })
            .map(|(_, g)| g.ts)
            .reduce(f64::max)
    }

    /// Whether the pod of container `id` heads the kubelet's eviction order among the pods
    /// whose requests are known (seen within [`SIBLING_FRESH_S`] of it): pods whose usage
    /// exceeds their requests first, then the lower priority, then the larger excess
    /// (`rankMemoryPressure` in the kubelet's eviction manager). Sums run over each pod's
    /// containers, as the kubelet's do. `None` where its own pod cannot be evicted or its
    /// standing is unknown.
    pub(super) fn eviction_first(
        standings: &HashMap<String, Standing>,
        pods: &HashMap<String, Vec<String>>,
        id: &str,
    ) -> Option<bool> {
        let now = standings.get(id)?.ts;
        // (above its requests, priority, usage − requests) of a pod, `None` if the kubelet
        // would not evict it.
        let rank = |ids: &[String]| {
            let mut sums: Option<(f64, f64, i32)> = None;
            for s in ids
                .iter()
                .filter_map(|i| standings.get(i))
                .filter(|s| s.ts >= now - SIBLING_FRESH_S)
            {
                if !s.evictable {
                    return None;
                }
                let (ws, req, prio) = sums.get_or_insert((0.0, 0.0, s.priority));
                *ws += s.ws as f64;
                *req += s.request as f64;
                *prio = (*prio).min(s.priority);
            }
            sums.map(|(ws, req, prio)| (ws > req, prio, ws - req))
        };
        let own_pod = pod_of(id)?;
        let own = rank(pods.get(own_pod)?)?;
        let ahead = |o: &(bool, i32, f64)| {
            (o.0 && !own.0) || (o.0 == own.0 && (o.1 < own.1 || (o.1 == own.1 && o.2 > own.2)))
        };
        Some(
            !pods
                .iter()
                .filter(|(pod, _)| pod.as_str() != own_pod)
                .filter_map(|(_, ids)| rank(ids))
                .any(|o| ahead(&o)),
        )
    }
}
