//! One builder per scenario kind: what the application in the pod asks for (its
//! [`Behaviour`]), and for the kinds that crash, how long the trace runs past the crash.
//! [`super::generate`] draws what every kind shares (start, node, pod, schedule, source)
//! before calling one, and adds sidecars and cold page cache after it, so each builder's
//! draws sit between the same two points of the instance's random stream as they always did:
//! a builder that drew in another order would change every trace after it.
use super::engine::{Behaviour, Container, Node, MIB};
use super::scenarios::{
    Base, CpuLoad, CrashLoop, ForkGrowth, Growth, Leak, PageCache, Spike, Wobble,
};
use super::{anon_clear_of_limit, pod_id, quiet_base, sidecar, time_to_limit, GcHeap, Kind, Pod};
use crate::sample::Qos;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// What a builder starts from and may change: the trace's start (Unix seconds), the node and
/// its size, and the trace's length in seconds (drawn before the kind; the kinds that crash
/// set their own, long enough to see the crash and what follows it).
pub(super) struct Stage {
    pub(super) t0: f64,
    pub(super) node_total: f64,
    pub(super) node: Node,
    pub(super) duration: f64,
}

/// The containers of instance `kind` for `pod`: its own first, then any neighbour the kind
/// needs (the eviction kind's Guaranteed pod).
pub(super) fn build(kind: Kind, pod: Pod, st: &mut Stage, rng: &mut ChaCha8Rng) -> Vec<Container> {
    match kind {
        Kind::LeakLinear | Kind::LeakStepwise | Kind::LeakAccelerating => {
            vec![leak(kind, pod, st, rng)]
        }
        Kind::GcSawtooth | Kind::GcCreep => vec![gc(kind, pod, st, rng)],
        Kind::AllocSpike => vec![alloc_spike(pod, st, rng)],
        Kind::PageCache => vec![page_cache(pod, st, rng)],
        Kind::FlatHigh => vec![flat_high(pod, st, rng)],
        Kind::ForkGrowth => vec![fork_growth(pod, st, rng)],
        Kind::CpuStarvation | Kind::CpuThrottled => vec![cpu_load(kind, pod, st, rng)],
        Kind::CrashLoop => vec![crash_loop(pod, st, rng)],
        Kind::Eviction => eviction(pod, st, rng),
        Kind::Healthy => vec![healthy(pod, st, rng)],
        Kind::WarmUp => vec![warm_up(pod, st, rng)],
    }
}

/// Noise of a `limit`-byte container's memory: 0.1–1 % of the limit, over 3–60 s.
fn noise(limit: f64, rng: &mut ChaCha8Rng) -> Wobble {
    Wobble::new(
        limit * rng.random_range(0.001..0.01),
        rng.random_range(3.0..60.0),
    )
}

/// An anon leak, linear, in steps or speeding up, that reaches the limit in minutes.
fn leak(kind: Kind, pod: Pod, st: &mut Stage, rng: &mut ChaCha8Rng) -> Container {
    let l = pod.limit;
    let base = Base::random(l, pod.cpu, rng);
    let anon0 = l * rng.random_range(0.15..0.5);
    let first = rng.random_range(60.0..900.0);
    let headroom = l - anon0 - base.active_file * 0.3;
    let t = time_to_limit(rng);
    let growth = match kind {
        Kind::LeakLinear => Growth::Linear { rate: headroom / t },
        Kind::LeakStepwise => {
            let period = rng.random_range(20.0..300.0_f64).min(t / 4.0);
            Growth::Steps {
                size: headroom / (t / period),
                period,
            }
        }
        _ => Growth::Accelerating {
            span: headroom,
            t,
            p: rng.random_range(1.5..3.0),
        },
    };
    st.duration = (first + t) * rng.random_range(1.05..2.2) + rng.random_range(60.0..600.0);
    let b = Leak {
        base,
        anon0,
        delay: 0.0,
        restart_delay: (30.0, 600.0),
        growth,
        noise: noise(l, rng),
        first_start: Some(first),
        t0: st.t0,
    };
    Container::new(pod.spec(rng), Box::new(b), st.t0, rng)
}

/// A GC sawtooth under the limit, whose floor creeps up to it for `gc_creep`.
fn gc(kind: Kind, pod: Pod, st: &mut Stage, rng: &mut ChaCha8Rng) -> Container {
    let l = pod.limit;
    let heap = GcHeap::random(l, pod.cpu, rng);
    let first = rng.random_range(0.0..600.0);
    let creep = if kind == Kind::GcCreep {
        let t = time_to_limit(rng);
        st.duration = (first + t) * rng.random_range(1.05..2.2) + rng.random_range(60.0..600.0);
        Growth::Linear {
            rate: (l - heap.peak) / t,
        }
    } else {
        Growth::Linear { rate: 0.0 }
    };
    let floor = heap.floor;
    let b = heap.sawtooth(floor, creep, first, st.t0, rng, |r| noise(l, r));
    Container::new(pod.spec(rng), Box::new(b), st.t0, rng)
}

/// A sudden allocation past the limit somewhere in the trace.
fn alloc_spike(pod: Pod, st: &mut Stage, rng: &mut ChaCha8Rng) -> Container {
    let l = pod.limit;
    let base = Base::random(l, pod.cpu, rng);
    let anon0 = l * rng.random_range(0.2..0.6);
    let b = Spike {
        base,
        anon0,
        first_at: rng.random_range(120.0..st.duration * 0.8),
        size: l * rng.random_range(1.0..1.6),
        noise: noise(l, rng),
        t0: st.t0,
        next_at: None,
    };
    Container::new(pod.spec(rng), Box::new(b), st.t0, rng)
}

/// Files written in bursts: page cache that fills the limit and is reclaimed there.
fn page_cache(pod: Pod, st: &mut Stage, rng: &mut ChaCha8Rng) -> Container {
    let l = pod.limit;
    let mut base = Base::random(l, pod.cpu, rng);
    // Hot pages of a file-heavy app (an index, a database's hot set): a sizeable active list,
    // but most of what was written is cold.
    base.active_file = l * rng.random_range(0.02..0.3);
    let anon0 = l * rng.random_range(0.08..0.35);
    let write_rate = (l * rng.random_range(0.002..0.05)).max(0.5 * MIB);
    let on = rng.random_range(60.0..1200.0);
    let b = PageCache {
        base,
        anon0,
        noise: noise(l, rng),
        write_rate,
        duty: (on, on * rng.random_range(0.0..1.0)),
        t0: st.t0,
    };
    let mut c = Container::new(pod.spec(rng), Box::new(b), st.t0, rng);
    // Usually the cache has long filled the limit when the trace starts.
    c.prefill_file(l * rng.random_range(0.0..1.2));
    c
}

/// A steady heap at 85–95 % of the limit, clear of it.
fn flat_high(pod: Pod, st: &mut Stage, rng: &mut ChaCha8Rng) -> Container {
    let l = pod.limit;
    let base = quiet_base(l, pod.cpu, rng);
    let level = rng.random_range(0.85..0.95);
    let sd = l * rng.random_range(0.001..0.006);
    let anon0 = anon_clear_of_limit(l, level, &base, sd);
    let b = Leak::steady(
        base,
        anon0.max(l * 0.5),
        Wobble::new(sd, rng.random_range(3.0..60.0)),
        st.t0,
    );
    Container::new(pod.spec(rng), Box::new(b), st.t0, rng)
}

/// Tasks leaked up to pids.max, with memory enough for all of them.
fn fork_growth(pod: Pod, st: &mut Stage, rng: &mut ChaCha8Rng) -> Container {
    let mut p = pod;
    let l = p.limit;
    let limit = [256u64, 512, 1024, 4096][rng.random_range(0..4)];
    p.pids = Some(limit);
    let base = Base::random(l, p.cpu, rng);
    let per_task = rng.random_range(16.0..256.0) * 1024.0;
    // Enough memory for every task the pids limit allows: this crash is pids, not OOM.
    p.limit = p.limit.max((l * 0.4 + per_task * limit as f64) * 2.0);
    let l = p.limit;
    let t = time_to_limit(rng);
    let rate = (limit as f64 - base.pids) / t;
    let burst = (rng.random::<f64>() < 0.4)
        .then(|| (rate * rng.random_range(20.0..120.0)).max(2.0).round());
    let first = rng.random_range(60.0..900.0);
    st.duration = (first + t) * rng.random_range(1.05..2.0) + rng.random_range(60.0..600.0);
    let b = ForkGrowth {
        base,
        anon0: l * rng.random_range(0.1..0.35),
        per_task,
        rate,
        burst,
        delay: 0.0,
        leaked: 0.0,
        noise: Wobble::new(l * 0.003, 20.0),
        first_start: Some(first),
        t0: st.t0,
    };
    Container::new(p.spec(rng), Box::new(b), st.t0, rng)
}

/// Load that ramps past the CPU quota: far past it and held (`cpu_starvation`), or to about
/// the quota, where the app copes (`cpu_throttled`).
fn cpu_load(kind: Kind, pod: Pod, st: &mut Stage, rng: &mut ChaCha8Rng) -> Container {
    let mut p = pod;
    let l = p.limit;
    let quota = [0.1, 0.25, 0.5, 1.0, 2.0][rng.random_range(0..5)];
    p.cpu = Some(quota);
    let base = Base::random(l, p.cpu, rng);
    let start_ratio = rng.random_range(0.3..0.8);
    let (peak_ratio, hold) = if kind == Kind::CpuStarvation {
        (rng.random_range(2.0..5.0), rng.random_range(300.0..1200.0))
    } else {
        // Busy but coping: throttled in part of the periods, probes still answered.
        (rng.random_range(0.8..1.2), rng.random_range(300.0..1800.0))
    };
    let ramp_at = rng.random_range(60.0..900.0);
    let ramp_len = rng.random_range(300.0..1200.0);
    st.duration =
        ramp_at + ramp_len + hold * rng.random_range(0.5..1.2) + rng.random_range(60.0..600.0);
    let b = CpuLoad {
        base,
        anon0: l * rng.random_range(0.2..0.6),
        noise: noise(l, rng),
        quota,
        start_ratio,
        peak_ratio,
        ramp_at,
        ramp_len,
        hold,
        load_noise: Wobble::new(rng.random_range(0.02..0.08), rng.random_range(3.0..30.0)),
        t0: st.t0,
    };
    Container::new(p.spec(rng), Box::new(b), st.t0, rng)
}

/// A dependency outage: the app exits seconds after each start until it ends.
fn crash_loop(pod: Pod, st: &mut Stage, rng: &mut ChaCha8Rng) -> Container {
    let l = pod.limit;
    let base = Base::random(l, pod.cpu, rng);
    let outage_at = rng.random_range(60.0..900.0);
    let run_time = rng.random_range(2.0..60.0);
    let b = CrashLoop {
        base,
        anon0: l * rng.random_range(0.1..0.5),
        noise: noise(l, rng),
        outage_at,
        outage_len: rng.random_range(600.0..3000.0),
        run_time,
        this_run: run_time,
        t0: st.t0,
        noticed_at: None,
    };
    st.duration = outage_at + rng.random_range(900.0..2400.0);
    Container::new(pod.spec(rng), Box::new(b), st.t0, rng)
}

/// A pod without a memory limit grows until the node runs out; the kubelet evicts it
/// (BestEffort first, then Burstable above its requests). A Guaranteed neighbour sees the same
/// node pressure and must survive.
fn eviction(pod: Pod, st: &mut Stage, rng: &mut ChaCha8Rng) -> Vec<Container> {
    let t0 = st.t0;
    let mut p = pod;
    p.qos = if rng.random::<f64>() < 0.7 {
        Qos::Besteffort
    } else {
        Qos::Burstable
    };
    p.cpu = None;
    let mut spec = p.spec(rng);
    spec.mem_limit = None;
    spec.evictable = true;
    let scale = st.node_total * 0.05;
    let base = Base::random(scale, None, rng);
    let anon0 = scale * rng.random_range(0.2..1.0);
    let avail0 = st.node.free_other - anon0 - base.active_file - base.cold_file;
    let t = time_to_limit(rng);
    let share = rng.random_range(0.5..1.0);
    let first = rng.random_range(60.0..900.0);
    let need = (avail0 - st.node.evict_threshold).max(64.0 * MIB);
    st.node.drain = need * (1.0 - share) / (first + t);
    let b = Leak {
        base,
        anon0,
        delay: 0.0,
        restart_delay: (0.0, 1.0),
        growth: Growth::Linear {
            rate: need * share / t,
        },
        noise: Wobble::new(scale * 0.01, 20.0),
        first_start: Some(first),
        t0,
    };
    st.duration = first + t + rng.random_range(120.0..900.0);
    let grower = Container::new(spec, Box::new(b), t0, rng);
    let (prefix, _) = pod_id(rng, None);
    let mut neighbour = sidecar(&prefix, t0, rng);
    neighbour.spec.qos = Qos::Guaranteed;
    neighbour.spec.evictable = false;
    vec![grower, neighbour]
}

/// A steady container without limits.
fn healthy(pod: Pod, st: &mut Stage, rng: &mut ChaCha8Rng) -> Container {
    let l = pod.limit;
    let mut p = pod;
    p.cpu = None;
    p.qos = if rng.random::<f64>() < 0.5 {
        Qos::Besteffort
    } else {
        Qos::Burstable
    };
    let mut spec = p.spec(rng);
    spec.mem_limit = None;
    spec.evictable = true;
    let b = Leak::steady(
        Base::random(l, None, rng),
        l * rng.random_range(0.2..0.8),
        noise(l, rng),
        st.t0,
    );
    Container::new(spec, Box::new(b), st.t0, rng)
}

/// A heap or a GC floor that warms up after a start and levels off below the limit: starts
/// at 30–80 % of its final level, time constant 20–300 s, 0–300 s into the trace.
fn warm_up(pod: Pod, st: &mut Stage, rng: &mut ChaCha8Rng) -> Container {
    let l = pod.limit;
    let t0 = st.t0;
    let from = rng.random_range(0.3..0.8);
    let tau = rng.random_range(20.0..300.0);
    let at = rng.random_range(0.0..300.0);
    let b: Box<dyn Behaviour> = if rng.random::<bool>() {
        // A GC heap whose live set (the sawtooth's floor) grows to its working size.
        let heap = GcHeap::random(l, pod.cpu, rng);
        let floor = heap.floor;
        let creep = Growth::Approach {
            span: floor * (1.0 - from),
            tau,
        };
        Box::new(heap.sawtooth(floor * from, creep, at, t0, rng, |r| noise(l, r)))
    } else {
        // A plain heap warming up to 60–95 % of the limit, kept clear of it as `flat_high` is.
        let base = quiet_base(l, pod.cpu, rng);
        let sd = l * rng.random_range(0.001..0.006);
        let level = anon_clear_of_limit(l, rng.random_range(0.6..0.95), &base, sd).max(l * 0.4);
        Box::new(Leak {
            base,
            anon0: level * from,
            delay: 0.0,
            restart_delay: (0.0, 1.0),
            growth: Growth::Approach {
                span: level * (1.0 - from),
                tau,
            },
            noise: Wobble::new(sd, rng.random_range(3.0..60.0)),
            first_start: Some(at),
            t0,
        })
    };
    Container::new(pod.spec(rng), b, t0, rng)
}
