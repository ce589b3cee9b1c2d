//! Eviction: whom the kubelet evicts first when the node runs short of memory. A container's
//! place in the kubelet's order among the pods whose requests are known ([`Standing`],
//! `eviction_first`) and, where neither the node's memory nor the requests are known, a pod
//! growing elsewhere that outranks a bystander (`grower_elsewhere`). Apart because these read
//! other containers' state, not the sample's own; [`Predictor::observe`] applies their
//! verdicts to the features ([`EvictionOrder::weigh`]) before the risk is assessed.
//!
//! [`Predictor::observe`]: super::Predictor::observe
use super::SIBLING_FRESH_S;
use crate::features::{self, Features};
use crate::history::History;
use crate::sample::{pod_of, Qos, Sample};
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

/// What the kubelet's eviction order needs of the node's other containers, kept across their
/// samples: [`EvictionOrder::weigh`] reads it for one container and updates it with that
/// container's sample.
#[derive(Debug, Default)]
pub(super) struct EvictionOrder {
    /// Guaranteed containers whose growth takes a share of the node's falling available memory
    /// ([`features::Features::shortage_share`]): when, and that share.
    guaranteed_growth: HashMap<String, (f64, f64)>,
    /// Each container's place in the kubelet's eviction order, where the kubelet gave its
    /// memory request ([`EvictionOrder::eviction_first`]).
    standings: HashMap<String, Standing>,
    /// Containers without a memory limit growing on a node whose memory the samples do not
    /// give ([`features::Features::grows_on_unknown_node`]): when last seen growing
    /// ([`EvictionOrder::grower_elsewhere`]) and its growth, bytes per second
    /// ([`features::Features::ws_rise_5m`]). One seen within [`SIBLING_FRESH_S`] outranks; one
    /// gone longer is kept for [`features::SQUEEZE_WINDOW`], since the page cache taken before
    /// it went tells of a shortage its end relieved.
    unknown_node_growers: HashMap<String, Grower>,
    /// Evictable containers taking [`features::BYSTANDER_SHARE`] or more of the node's
    /// falling available memory: when last seen so.
    evictable_growth: HashMap<String, f64>,
    /// BestEffort containers: when last seen, and their working set, bytes.
    besteffort: HashMap<String, (f64, f64)>,
}

impl EvictionOrder {
    /// Applies to `f` (the features of `sample`, whose container's history is `hist`) what the
    /// other containers say of its eviction: a bystander beside a Guaranteed pod's growth, its
    /// place in the kubelet's order where the requests are known (`pods`: the containers of
    /// each pod), or a grower elsewhere that outranks it where neither the node nor the
    /// requests are; and records this container's part for the others.
    pub(super) fn weigh(
        &mut self,
        pods: &HashMap<String, Vec<String>>,
        sample: &Sample,
        hist: &History,
        f: &mut Features,
    ) {
        // A container holding still while the node runs short is a bystander
        // (`features::BYSTANDER_SHARE`) unless the growth is a Guaranteed pod's: the kubelet
        // does not evict that one, so an evictable pod goes in its place, whoever grew.
        if sample.qos == Some(Qos::Guaranteed) {
            match f.shortage_share {
                Some(share) => {
                    self.guaranteed_growth
                        .insert(sample.id.clone(), (sample.ts, share));
                }
                None => {
                    self.guaranteed_growth.remove(&sample.id);
                }
            }
        } else if f
            .shortage_share
            .is_some_and(|share| share < features::BYSTANDER_SHARE)
            && self.guaranteed_growth.iter().any(|(id, (t, share))| {
                *id != sample.id
                    && *t >= sample.ts - SIBLING_FRESH_S
                    && *share >= features::BYSTANDER_SHARE
            })
        {
            f.shortage_share = None;
        }
        // Where the kubelet gave the memory requests, it says who goes first: the pod that
        // heads its order is evicted whoever grew, and any other is not (yet).
        match (sample.memory_request_bytes, sample.memory_working_set_bytes) {
            (Some(request), Some(ws)) => {
                let standing = Standing {
                    ts: sample.ts,
                    ws,
                    request,
                    priority: sample.pod_priority.unwrap_or(0),
                    evictable: sample.qos != Some(Qos::Guaranteed) && !f.critical,
                };
                // Updated in place: the kubelet gives every container's request, so this runs
                // for every sample on a node (no new key, no clone of the id, each time).
                match self.standings.get_mut(&sample.id) {
                    Some(known) => *known = standing,
                    None => {
                        self.standings.insert(sample.id.clone(), standing);
                    }
                }
                // The order is walked (every pod on the node) only while the node runs short.
                let short =
                    f.ttl_node.is_some() || f.shortage_share.is_some() || f.node_psi.is_some();
                if short {
                    match Self::eviction_first(&self.standings, pods, &sample.id) {
                        Some(true) => f.shortage_share = None,
                        Some(false) => f.outranked = true,
                        None => {}
                    }
                }
            }
            // Not hashed where no container has a standing (no kubelet, a trace).
            _ if self.standings.is_empty() => {}
            _ => {
                self.standings.remove(&sample.id);
            }
        }
        // Without the node's memory and the requests, a pod without a limit that grows is the
        // one the node runs short for: its usage above its request grows, the kubelet evicts
        // it first, and the kernel's OOM killer picks the largest task. A container of another
        // pod that holds still beside it (rises by less than `features::BYSTANDER_SHARE` of
        // the grower's rise: a small container's drift can be a large share of itself) shares
        // its stalls, and is not the next to go. Nor just after the grower vanished (killed,
        // evicted): its memory is free again, and the stalls of the last 10 s (PSI avg10) are
        // the ones that came before its end; so a grower is kept for its freshness, not for
        // as long as it lives. Of two growers the larger goes first (the kubelet ranks by usage
        // above request, and the requests are unknown), unless only the smaller is BestEffort.
        // Judged where the samples can show the shortage: memory stalls, or (cgroup v1, no PSI)
        // the page cache of a container without a limit, which only global reclaim takes.
        let may_be_short = f.node_psi.is_some() || f.cache_squeeze.is_some();
        let own_ws = sample.memory_working_set_bytes.map(|w| w as f64);
        let besteffort = sample.qos == Some(Qos::Besteffort);
        // The pace to judge this container by where growers are known (`None` inside: a
        // grower, judged by its size alone).
        let pace = match f.ws_rise_5m {
            // Updated in place: a grower is seen every sweep, and its id need not be cloned
            // each time.
            Some(rise) if sample.memory_limit_bytes.is_none() && f.grows_on_unknown_node => {
                let seen = Grower {
                    ts: sample.ts,
                    rise,
                    ws: own_ws.unwrap_or(0.0),
                    besteffort,
                };
                match self.unknown_node_growers.get_mut(&sample.id) {
                    Some(known) => *known = seen,
                    None => {
                        Self::forget_gone_growers(&mut self.unknown_node_growers, sample.ts);
                        self.unknown_node_growers.insert(sample.id.clone(), seen);
                    }
                }
                Some(None)
            }
            _ if self.unknown_node_growers.is_empty() => None,
            own => {
                self.unknown_node_growers.remove(&sample.id);
                Self::forget_gone_growers(&mut self.unknown_node_growers, sample.ts);
                Some(Some(own.unwrap_or(0.0).max(0.0)))
            }
        };
        let outranker = pace
            .filter(|_| may_be_short && sample.memory_request_bytes.is_none())
            .and_then(|own_rise| {
                Self::grower_elsewhere(
                    &self.unknown_node_growers,
                    &sample.id,
                    own_rise,
                    own_ws,
                    besteffort,
                )
            });
        match outranker {
            Some(seen) if seen >= sample.ts - SIBLING_FRESH_S => f.outranked = true,
            // Gone: the page cache global reclaim took before then went in the shortage its
            // eviction relieved, and only a loss since counts.
            Some(seen) if f.cache_squeeze.is_some() => {
                f.cache_squeeze = features::cache_squeeze_since(hist, sample, seen);
            }
            _ => {}
        }
        self.besteffort_first(sample, f);
    }

    /// Marks `f` [`Features::heads_besteffort`] where its pod is the largest BestEffort pod
    /// seen in the last 2.5 scrapes on a node running short that no evictable container of
    /// another pod grows into, and records this container's part for the others. Where no pod
    /// grows, the memory drains outside them, and the kubelet evicts BestEffort pods first
    /// (their whole usage exceeds their zero request), the largest first.
    fn besteffort_first(&mut self, sample: &Sample, f: &mut Features) {
        let grows = f
            .shortage_share
            .is_some_and(|share| share >= features::BYSTANDER_SHARE);
        if sample.qos != Some(Qos::Guaranteed) && grows {
            match self.evictable_growth.get_mut(&sample.id) {
                Some(t) => *t = sample.ts,
                None => {
                    self.evictable_growth.insert(sample.id.clone(), sample.ts);
                }
            }
        } else if !self.evictable_growth.is_empty() {
            self.evictable_growth.remove(&sample.id);
        }
        if sample.qos != Some(Qos::Besteffort) {
            return;
        }
        let ws = sample.memory_working_set_bytes.unwrap_or(0) as f64;
        match self.besteffort.get_mut(&sample.id) {
            Some(known) => *known = (sample.ts, ws),
            None => {
                self.besteffort.insert(sample.id.clone(), (sample.ts, ws));
            }
        }
        if grows || f.ttl_node_guess.is_none() || super::risk::spared(f) {
            return;
        }
        let fresh = sample.ts - (2.5 * f.sample_gap).min(SIBLING_FRESH_S);
        let pod = pod_of(&sample.id).unwrap_or(&sample.id);
        if self
            .evictable_growth
            .iter()
            .any(|(id, t)| *t >= fresh && pod_of(id).unwrap_or(id) != pod)
        {
            return;
        }
        let mut sums: HashMap<&str, f64> = HashMap::new();
        for (id, (t, w)) in &self.besteffort {
            if *t >= fresh {
                *sums.entry(pod_of(id).unwrap_or(id)).or_default() += w;
            }
        }
        let own = sums.get(pod).copied().unwrap_or(ws);
        f.heads_besteffort = sums.iter().all(|(p, w)| *p == pod || *w < own);
    }

    /// Forgets the containers for which `keep` returns false (vanished).
    pub(super) fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.evictable_growth.retain(|id, _| keep(id));
        self.besteffort.retain(|id, _| keep(id));
        self.guaranteed_growth.retain(|id, _| keep(id));
        self.standings.retain(|id, _| keep(id));
    }

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
