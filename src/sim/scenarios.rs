//! Scenario behaviours: what each kind of application *asks for* over time (memory, page
//! cache, CPU, threads, exits). The kernel and kubelet in [`super::engine`] decide what
//! happens; nothing here decides a crash except an app that exits by itself (CrashLoopBackOff).
//!
//! Must not: emit samples or labels, or look at the cgroup state (an app does not know its
//! limit is near; only the leak's size is chosen so that the limit is reached in time).
use super::engine::{normal, Behaviour, Demand, MIB};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// AR(1) noise: allocator churn and request load, correlated from one second to the next.
#[derive(Debug, Clone, Copy)]
pub struct Wobble {
    x: f64,
    rho: f64,
    sigma: f64,
}

impl Wobble {
    /// Noise with stationary standard deviation `sd` and correlation time `tau` seconds.
    pub fn new(sd: f64, tau: f64) -> Self {
        let rho = (-1.0 / tau.max(1.0)).exp();
        Wobble {
            x: 0.0,
            rho,
            sigma: sd * (1.0 - rho * rho).sqrt(),
        }
    }

    /// Next value.
    pub fn next(&mut self, rng: &mut ChaCha8Rng) -> f64 {
        self.x = self.rho * self.x + self.sigma * normal(rng);
        self.x
    }
}

/// The parts every behaviour shares: a steady CPU load, a task count and a hot file set.
#[derive(Debug, Clone, Copy)]
pub struct Base {
    /// Mean CPU, cores.
    pub cpu: f64,
    /// CPU noise.
    pub cpu_noise: Wobble,
    /// Tasks (threads).
    pub pids: f64,
    /// Hot page cache (binaries, config, hot data), bytes.
    pub active_file: f64,
    /// Page cache written once at start-up and then cold (logs, temp files), bytes.
    pub cold_file: f64,
    /// Page cache written steadily and never read again (log files), bytes/s: usage creeps
    /// up while the working set does not, until reclaim at the limit trims it.
    pub log_rate: f64,
}

impl Base {
    /// Random everyday load for a container whose memory limit (or scale) is `scale` bytes;
    /// CPU stays well inside `quota` (cores) so that only CPU scenarios starve.
    pub fn random(scale: f64, quota: Option<f64>, rng: &mut ChaCha8Rng) -> Self {
        let cpu = rng
            .random_range(0.02..0.6_f64)
            .min(quota.unwrap_or(f64::MAX) * rng.random_range(0.1..0.5));
        Base {
            cpu,
            cpu_noise: Wobble::new(
                cpu * rng.random_range(0.05..0.3),
                rng.random_range(2.0..30.0),
            ),
            pids: rng.random_range(4.0..60.0_f64).round(),
            active_file: scale * rng.random_range(0.01..0.05),
            cold_file: scale * rng.random_range(0.0..0.08),
            log_rate: if rng.random::<f64>() < 0.6 {
                scale * rng.random_range(0.0..2e-5)
            } else {
                0.0
            },
        }
    }

    /// A demand with this base load; `age` lets cold page cache build up after a start.
    pub fn demand(&mut self, anon: f64, age: f64, rng: &mut ChaCha8Rng) -> Demand {
        let cpu = (self.cpu + self.cpu_noise.next(rng)).max(0.001);
        // Start-up writes its cold file pages over the first minute.
        let start_up = if age < 60.0 {
            self.cold_file / 60.0
        } else {
            0.0
        };
        let file_write = start_up + self.log_rate;
        Demand {
            anon,
            file_write,
            active_file: self.active_file,
            file_drop: 0.0,
            cpu,
            pids: self.pids,
            exit_error: false,
        }
    }
}

/// How a leak grows once it has started (`x` seconds into the leak).
#[derive(Debug, Clone, Copy)]
pub enum Growth {
    /// Bytes per second.
    Linear {
        /// Rate, bytes/s.
        rate: f64,
    },
    /// A chunk every `period` seconds (caches that grow in batches).
    Steps {
        /// Chunk size, bytes.
        size: f64,
        /// Seconds between chunks.
        period: f64,
    },
    /// `span * (x / t)^p`: slow at first, then faster (e.g. a queue that backs up).
    Accelerating {
        /// Bytes reached after `t` seconds.
        span: f64,
        /// Seconds.
        t: f64,
        /// Exponent > 1.
        p: f64,
    },
    /// `span * (1 - e^(-x / tau))`: a warm-up (caches, JIT, a heap sized to its load) that
    /// rises fast, bends and holds. Not a leak: it never passes `span`.
    Approach {
        /// Bytes it levels off at.
        span: f64,
        /// Time constant, seconds.
        tau: f64,
    },
}

impl Growth {
    fn at(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        match *self {
            Growth::Linear { rate } => rate * x,
            Growth::Steps { size, period } => {
                // Each chunk is allocated over a couple of seconds, not instantly.
                let n = (x / period).floor();
                let within = ((x - n * period) / 3.0).min(1.0);
                size * (n + within)
            }
            Growth::Accelerating { span, t, p } => span * (x / t).powf(p),
            Growth::Approach { span, tau } => span * (1.0 - (-x / tau).exp()),
        }
    }
}

/// An anonymous-memory leak (also a steady app when `growth` is zero).
pub struct Leak {
    /// Shared load.
    pub base: Base,
    /// Anon at start-up (after warm-up), bytes.
    pub anon0: f64,
    /// Seconds of normal running before the leak starts (per instance).
    pub delay: f64,
    /// Range to redraw `delay` from after a restart.
    pub restart_delay: (f64, f64),
    /// Leak shape.
    pub growth: Growth,
    /// Noise on anon.
    pub noise: Wobble,
    /// Seconds after trace start at which the leak first starts (the first instance has
    /// been running for a while when the trace starts).
    pub first_start: Option<f64>,
    /// Trace start.
    pub t0: f64,
}

impl Leak {
    /// A steady app that has run since before the trace (start `t0`): `anon0` bytes of anon
    /// with `noise`, no leak.
    pub fn steady(base: Base, anon0: f64, noise: Wobble, t0: f64) -> Leak {
        Leak {
            base,
            anon0,
            delay: 0.0,
            restart_delay: (0.0, 1.0),
            growth: Growth::Linear { rate: 0.0 },
            noise,
            first_start: None,
            t0,
        }
    }
}

impl Behaviour for Leak {
    fn demand(&mut self, age: f64, now: f64, rng: &mut ChaCha8Rng) -> Demand {
        let x = match self.first_start {
            Some(s) => now - self.t0 - s,
            None => age - self.delay,
        };
        // Warm-up: the heap fills during the first 30 s of a new instance.
        let warm = (age / 30.0).min(1.0);
        let anon = self.anon0 * warm + self.growth.at(x) + self.noise.next(rng);
        self.base.demand(anon.max(MIB), age, rng)
    }

    fn restarted(&mut self, rng: &mut ChaCha8Rng) {
        self.first_start = None;
        self.delay = rng.random_range(self.restart_delay.0..self.restart_delay.1);
    }
}

/// A garbage-collected heap: anon climbs at the allocation rate and drops to the live set at
/// each collection; `creep` makes the live set (the floor) grow: a leak behind a GC when it
/// grows without end, a warm-up when it is a [`Growth::Approach`].
pub struct Sawtooth {
    /// Shared load.
    pub base: Base,
    /// Live set right after a collection, bytes.
    pub floor: f64,
    /// Heap growth between collections, bytes.
    pub amp: f64,
    /// Allocation rate, bytes/s.
    pub alloc_rate: f64,
    /// Live-set growth (`Linear { rate: 0.0 }` for a steady heap).
    pub creep: Growth,
    /// Seconds of instance age before the creep starts.
    pub creep_delay: f64,
    /// Current garbage on the heap, bytes.
    pub garbage: f64,
    /// Noise on anon.
    pub noise: Wobble,
    /// Trace seconds at which the first (already running) instance starts creeping.
    pub first_start: Option<f64>,
    /// Trace start.
    pub t0: f64,
}

impl Behaviour for Sawtooth {
    fn demand(&mut self, age: f64, now: f64, rng: &mut ChaCha8Rng) -> Demand {
        self.garbage += self.alloc_rate * rng.random_range(0.6..1.4);
        if self.garbage >= self.amp {
            // Collection: the heap shrinks back to the live set (the runtime returns the pages).
            self.garbage = self.amp * rng.random_range(0.0..0.08);
        }
        let x = match self.first_start {
            Some(s) => now - self.t0 - s,
            None => age - self.creep_delay,
        };
        let live = self.floor + self.creep.at(x);
        let warm = (age / 20.0).min(1.0);
        let anon = live * warm + self.garbage + self.noise.next(rng);
        self.base.demand(anon.max(MIB), age, rng)
    }

    fn restarted(&mut self, rng: &mut ChaCha8Rng) {
        self.garbage = 0.0;
        self.first_start = None;
        self.creep_delay = rng.random_range(0.0..300.0);
    }
}

/// Steady memory with a sudden allocation far beyond the limit (a huge request body, a
/// decompression bomb): no trend precedes it.
pub struct Spike {
    /// Shared load.
    pub base: Base,
    /// Anon before the spike, bytes.
    pub anon0: f64,
    /// Seconds after trace start of the first spike.
    pub first_at: f64,
    /// Bytes the spike asks for.
    pub size: f64,
    /// Noise on anon.
    pub noise: Wobble,
    /// Trace start.
    pub t0: f64,
    /// Instance age of the next spike after a restart (`None` before the first crash).
    pub next_at: Option<f64>,
}

impl Behaviour for Spike {
    fn demand(&mut self, age: f64, now: f64, rng: &mut ChaCha8Rng) -> Demand {
        let x = match self.next_at {
            None => now - self.t0 - self.first_at,
            Some(a) => age - a,
        };
        let warm = (age / 30.0).min(1.0);
        // The allocation takes a second or two (touching pages is not free).
        let spike = if x > 0.0 {
            self.size * (x / 2.0).min(1.0)
        } else {
            0.0
        };
        let anon = self.anon0 * warm + spike + self.noise.next(rng);
        self.base.demand(anon.max(MIB), age, rng)
    }

    fn restarted(&mut self, rng: &mut ChaCha8Rng) {
        self.next_at = Some(rng.random_range(600.0..3600.0));
    }
}

/// Steady anon plus a writer that streams files through the page cache (logs, a database's
/// data files, a backup job): the file LRU grows until memcg reclaims it at the limit.
pub struct PageCache {
    /// Shared load.
    pub base: Base,
    /// Anon, bytes.
    pub anon0: f64,
    /// Noise on anon.
    pub noise: Wobble,
    /// Write rate while writing, bytes/s.
    pub write_rate: f64,
    /// Seconds writing, then seconds idle (a bursty job).
    pub duty: (f64, f64),
    /// Trace start.
    pub t0: f64,
}

impl Behaviour for PageCache {
    fn demand(&mut self, age: f64, now: f64, rng: &mut ChaCha8Rng) -> Demand {
        let warm = (age / 30.0).min(1.0);
        let anon = self.anon0 * warm + self.noise.next(rng);
        let mut d = self.base.demand(anon.max(MIB), age, rng);
        let cycle = self.duty.0 + self.duty.1;
        let writing = ((now - self.t0) % cycle) < self.duty.0;
        if writing {
            d.file_write += self.write_rate * rng.random_range(0.5..1.5);
            d.cpu += 0.05;
        }
        d
    }
}

/// A task leak: threads or child processes that are never reaped, until fork() fails at
/// pids.max. Each thread also costs some anon memory (stack, TLS).
pub struct ForkGrowth {
    /// Shared load.
    pub base: Base,
    /// Anon of the app without the leaked tasks, bytes.
    pub anon0: f64,
    /// Anon per leaked task, bytes.
    pub per_task: f64,
    /// Leaked tasks per second (mean).
    pub rate: f64,
    /// Leak in bursts (a pool that grows by `burst` at once) instead of one by one.
    pub burst: Option<f64>,
    /// Instance age at which leaking starts.
    pub delay: f64,
    /// Leaked tasks so far in this instance.
    pub leaked: f64,
    /// Noise on anon.
    pub noise: Wobble,
    /// Delay of the first (already running) instance, in trace seconds.
    pub first_start: Option<f64>,
    /// Trace start.
    pub t0: f64,
}

impl Behaviour for ForkGrowth {
    fn demand(&mut self, age: f64, now: f64, rng: &mut ChaCha8Rng) -> Demand {
        let leaking = match self.first_start {
            Some(s) => now - self.t0 >= s,
            None => age >= self.delay,
        };
        if leaking {
            match self.burst {
                None => self.leaked += self.rate * rng.random_range(0.5..1.5),
                Some(b) if rng.random::<f64>() < self.rate / b => self.leaked += b,
                Some(_) => {}
            }
        }
        let warm = (age / 30.0).min(1.0);
        let anon = self.anon0 * warm + self.per_task * self.leaked + self.noise.next(rng);
        let mut d = self.base.demand(anon.max(MIB), age, rng);
        d.pids += self.leaked;
        d
    }

    fn restarted(&mut self, rng: &mut ChaCha8Rng) {
        self.leaked = 0.0;
        self.first_start = None;
        self.delay = rng.random_range(30.0..600.0);
    }
}

/// CPU demand following traffic: `start_ratio` × quota, ramping to `peak_ratio` × quota
/// between `ramp_at` and `ramp_at + ramp_len` (trace seconds), holding `hold` seconds, then
/// falling back. Below ~1.5 × quota the app copes; far above, liveness probes time out.
pub struct CpuLoad {
    /// Shared load (its `cpu` is ignored).
    pub base: Base,
    /// Anon, bytes.
    pub anon0: f64,
    /// Noise on anon.
    pub noise: Wobble,
    /// CPU quota, cores.
    pub quota: f64,
    /// Demand / quota before the ramp.
    pub start_ratio: f64,
    /// Demand / quota at the peak.
    pub peak_ratio: f64,
    /// Trace seconds at which the ramp starts.
    pub ramp_at: f64,
    /// Ramp length, seconds.
    pub ramp_len: f64,
    /// Seconds at the peak before traffic falls back.
    pub hold: f64,
    /// Relative noise of demand.
    pub load_noise: Wobble,
    /// Trace start.
    pub t0: f64,
}

impl Behaviour for CpuLoad {
    fn demand(&mut self, age: f64, now: f64, rng: &mut ChaCha8Rng) -> Demand {
        let x = now - self.t0 - self.ramp_at;
        let r = if x <= 0.0 {
            self.start_ratio
        } else if x < self.ramp_len {
            self.start_ratio + (self.peak_ratio - self.start_ratio) * x / self.ramp_len
        } else if x < self.ramp_len + self.hold {
            self.peak_ratio
        } else {
            let y = (x - self.ramp_len - self.hold) / self.ramp_len;
            (self.peak_ratio - (self.peak_ratio - self.start_ratio) * y).max(self.start_ratio)
        };
        let warm = (age / 30.0).min(1.0);
        let anon = self.anon0 * warm + self.noise.next(rng);
        let mut d = self.base.demand(anon.max(MIB), age, rng);
        d.cpu = (self.quota * r * (1.0 + self.load_noise.next(rng))).max(0.001);
        d
    }
}

/// A container that exits with an error shortly after each start while a dependency is
/// down (CrashLoopBackOff), and runs normally before and after the outage.
pub struct CrashLoop {
    /// Shared load.
    pub base: Base,
    /// Anon, bytes.
    pub anon0: f64,
    /// Noise on anon.
    pub noise: Wobble,
    /// Trace seconds at which the dependency fails.
    pub outage_at: f64,
    /// Outage length, seconds.
    pub outage_len: f64,
    /// Typical seconds an instance survives during the outage.
    pub run_time: f64,
    /// This instance's survival time.
    pub this_run: f64,
    /// Trace start.
    pub t0: f64,
    /// Instance age when the outage was first noticed by this instance.
    pub noticed_at: Option<f64>,
}

impl Behaviour for CrashLoop {
    fn demand(&mut self, age: f64, now: f64, rng: &mut ChaCha8Rng) -> Demand {
        let x = now - self.t0 - self.outage_at;
        let down = x >= 0.0 && x < self.outage_len;
        let warm = (age / 10.0).min(1.0);
        let anon = self.anon0 * warm + self.noise.next(rng);
        let mut d = self.base.demand(anon.max(MIB), age, rng);
        if down {
            let since = *self.noticed_at.get_or_insert(age);
            d.exit_error = age - since >= self.this_run;
        } else {
            self.noticed_at = None;
        }
        d
    }

    fn restarted(&mut self, rng: &mut ChaCha8Rng) {
        self.noticed_at = None;
        self.this_run = self.run_time * rng.random_range(0.5..1.5);
    }
}
