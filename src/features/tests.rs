//! Tests of the extractor as a whole: each feeds a run of samples to [`extract`] (or one to
//! [`extract_once`]) and checks the features and estimates it gives. Three of the fixtures
//! here (`base`, `wobble`, `throttled_samples`) serve the parts' own tests too.
use super::*;

const MIB: u64 = 1024 * 1024;

pub(super) fn base(ts: f64) -> Sample {
    Sample {
        ts,
        id: "ns/p/c".into(),
        memory_limit_bytes: Some(512 * MIB),
        ..Default::default()
    }
}

fn run(samples: impl Iterator<Item = Sample>) -> Features {
    let mut h = History::new();
    let mut last = None;
    for s in samples {
        h.push(&s);
        last = Some(extract(&h, &s));
    }
    last.unwrap_or_else(|| extract(&h, &base(0.0)))
}

/// Deterministic noise in [-1, 1] (no RNG: exact assertions stay exact).
pub(super) fn wobble(i: u64) -> f64 {
    ((i * 2_654_435_761) % 1000) as f64 / 500.0 - 1.0
}

/// A container with a 0.5-core quota sampled every 5 s whose throttled share of periods
/// at time `t` is `share(t)`; `cpu_throttled_periods_total` accumulates it like cpu.stat.
fn throttled(end: f64, share: impl Fn(f64) -> f64) -> Features {
    run(throttled_samples(end, share))
}

pub(super) fn throttled_samples(
    end: f64,
    share: impl Fn(f64) -> f64,
) -> impl Iterator<Item = Sample> {
    let (mut periods, mut thr) = (0.0, 0.0);
    (0..=(end / 5.0) as u64).map(move |i| {
        let t = i as f64 * 5.0;
        periods += 50.0;
        thr += 50.0 * share(t).clamp(0.0, 1.0);
        let mut s = base(t);
        s.cpu_limit_cores = Some(0.5);
        s.cpu_usage_seconds_total = Some(t * 0.5);
        s.cpu_periods_total = Some(periods as u64);
        s.cpu_throttled_periods_total = Some(thr.round() as u64);
        s
    })
}

/// 5 s samples of a container with a 0.5-core quota using `share(t)` of it.
fn cpu_used(end: f64, share: impl Fn(f64) -> f64) -> Features {
    let mut cpu = 0.0;
    run((0..=(end / 5.0) as u64).map(|i| {
        let t = i as f64 * 5.0;
        let mut s = base(t);
        s.cpu_limit_cores = Some(0.5);
        s.cpu_usage_seconds_total = Some(cpu);
        cpu += 5.0 * 0.5 * share(t + 2.5);
        s
    }))
}

#[test]
fn cpu_use_line_is_the_share_now_and_its_pace() {
    let (now, pace) = cpu_used(300.0, |_| 0.6).cpu_use.unwrap();
    assert!(
        (now - 0.6).abs() < 1e-9 && pace.abs() < 1e-9,
        "{now} {pace}"
    );
    // 0.3 + 0.12 per minute: 0.9 at 300 s, where the last minute's mean is 0.84.
    let f = cpu_used(300.0, |t| 0.3 + 0.002 * t);
    let (now, pace) = f.cpu_use.unwrap();
    assert!((now - 0.9).abs() < 0.01, "{now}");
    assert!((pace - 0.002).abs() < 1e-4, "{pace}");
    assert!((f64::from(f.x[19]) - 0.84).abs() < 0.01, "{}", f.x[19]);
}

#[test]
fn a_restarted_container_reads_its_cpu_use_from_its_own_samples() {
    // Ten minutes at a tenth of a 1-core quota, then a new instance (its counter starts
    // from zero) that burns the whole quota: 30 s after the restart, a minute back is the
    // dead instance, whose counter says nothing about the new one's rate.
    let mut cpu = 0.0;
    let samples = (0..=126u64).map(|i| {
        let t = i as f64 * 5.0;
        if t == 600.0 {
            cpu = 0.0;
        }
        let mut s = base(t);
        s.cpu_limit_cores = Some(1.0);
        s.cpu_usage_seconds_total = Some(cpu);
        cpu += 5.0 * if t >= 600.0 { 1.0 } else { 0.1 };
        s
    });
    let f = run(samples);
    assert!((f64::from(f.x[19]) - 1.0).abs() < 1e-6, "{}", f.x[19]);
    let (now, pace) = f.cpu_use.unwrap();
    assert!((now - 1.0).abs() < 1e-9 && pace == 0.0, "{now} {pace}");
}

#[test]
fn cpu_use_line_needs_a_quota_a_counter_and_an_earlier_sample() {
    assert_eq!(extract_once(&base(10.0)).cpu_use, None);
    let mut s = base(10.0);
    s.cpu_limit_cores = Some(1.0);
    s.cpu_usage_seconds_total = Some(5.0);
    assert_eq!(run(std::iter::once(s.clone())).cpu_use, None);
    s.cpu_limit_cores = None;
    let mut earlier = s.clone();
    earlier.ts = 0.0;
    earlier.cpu_usage_seconds_total = Some(0.0);
    assert_eq!(run([earlier, s].into_iter()).cpu_use, None);
}

#[test]
fn throttling_climbing_to_starvation_gives_a_finite_time_to_the_probe_kill() {
    // 0 at t=100 s, +0.6 % per second: 0.6 at t=200, 0.9 at t=250, probes kill ≈ 280.
    let f = throttled(200.0, |t| (t - 100.0) * 0.006);
    let eta = f
        .ttl_starve
        .expect("a clean climb past half the periods is starvation");
    assert!((60.0..=100.0).contains(&eta), "eta {eta}");
    // Later on the same ramp the estimate shrinks.
    let later = throttled(230.0, |t| (t - 100.0) * 0.006)
        .ttl_starve
        .unwrap();
    assert!(later < eta, "{later} !< {eta}");
}

#[test]
fn steady_or_levelling_throttling_is_not_starvation() {
    // A CPU-bound job pinned at its quota: throttled in ~97 % of periods for ever.
    let pinned = throttled(600.0, |t| 0.97 + 0.02 * wobble(t as u64));
    assert_eq!(pinned.ttl_starve, None);
    // Busy but coping: the share rose to 0.6 and stays there.
    let level = throttled(600.0, |t| (t * 0.004).min(0.6));
    assert_eq!(level.ttl_starve, None);
    // Rising, but still far from starvation (0.3): not yet.
    let low = throttled(200.0, |t| t * 0.0015);
    assert_eq!(low.ttl_starve, None);
}

#[test]
fn restarts_before_first_sight_count_only_when_the_kubelet_says_they_are_recent() {
    // First sight of a container that already restarted 4 times (an agent started beside a
    // pod in CrashLoopBackOff), 60 s of samples.
    let first_seen = |finished: Option<f64>| {
        run((0..=6).map(|i| {
            let mut s = base(1_000_000.0 + i as f64 * 10.0);
            s.restarts_total = Some(4);
            s.last_termination_reason = Some("Error".into());
            s.last_termination_ts = finished;
            s
        }))
        .x[idx::RESTARTS_10M]
    };
    assert_eq!(first_seen(Some(1_000_000.0 - 90.0)), 4.0);
    // Last week's restarts, or restarts of unknown age (long-running pods carry old ones).
    assert_eq!(first_seen(Some(1_000_000.0 - 7.0 * 86_400.0)), 0.0);
    assert_eq!(first_seen(None), 0.0);
}

#[test]
fn linear_leak_gives_positive_slope_and_finite_time_to_limit() {
    // 1 MiB/s from 100 MiB, sampled every 2 s with ±2 MiB noise; at t=200 s: 300 MiB.
    let f = run((0..=100).map(|i| {
        let t = i as f64 * 2.0;
        let mut s = base(t);
        let anon = (100.0 + t + 2.0 * wobble(i)) * MIB as f64;
        s.memory_anon_bytes = Some(anon as u64);
        s.memory_file_bytes = Some(20 * MIB);
        s.memory_working_set_bytes = Some(anon as u64 + 20 * MIB);
        s
    }));
    // 1 MiB/s = 60/512 limit per minute.
    let expect = 60.0 / 512.0;
    assert!(
        (f.x[3] as f64 - expect).abs() < 0.02,
        "short slope {}",
        f.x[3]
    );
    assert!(
        (f.x[4] as f64 - expect).abs() < 0.02,
        "envelope slope {}",
        f.x[4]
    );
    let ttl = f.ttl_mem.unwrap_or(f64::INFINITY);
    // 512 - 320 = 192 MiB left at 1 MiB/s.
    assert!((ttl - 192.0).abs() < 25.0, "ttl {ttl}");
    assert!(f.x[2] < 0.1, "file share {}", f.x[2]);
}

#[test]
fn a_leak_after_a_restart_is_not_hidden_by_the_dead_instance() {
    // The first instance sat at 480 MiB for 5 min and died; the new one leaks 1 MiB/s
    // from 100 MiB. The old peak must not turn the new instance's trend negative.
    let f = run((0..=260).map(|i| {
        let t = i as f64 * 2.0;
        let mut s = base(t);
        let (ws, restarts, cpu) = if t < 300.0 {
            (480.0 + wobble(i), 0, t)
        } else {
            (100.0 + (t - 300.0) + wobble(i), 1, t - 300.0)
        };
        s.memory_working_set_bytes = Some((ws * MIB as f64) as u64);
        s.memory_anon_bytes = s.memory_working_set_bytes;
        s.restarts_total = Some(restarts);
        s.cpu_usage_seconds_total = Some(cpu);
        s
    }));
    // At t=520 s: 320 MiB, 192 MiB left at 1 MiB/s.
    let ttl = f.ttl_mem.unwrap_or(f64::INFINITY);
    assert!((ttl - 192.0).abs() < 25.0, "ttl {ttl}");
    assert!(f.x[4] > 0.0 && f.x[5] > 0.0, "slopes {} {}", f.x[4], f.x[5]);
}

#[test]
fn page_cache_growth_is_not_a_leak() {
    // Cache grows 2 MiB/s (active file counts in the working set), anon flat at 50 MiB.
    let f = run((0..=150).map(|i| {
        let t = i as f64;
        let mut s = base(t);
        let file = (10.0 + 2.0 * t) as u64 * MIB;
        s.memory_anon_bytes = Some(50 * MIB);
        s.memory_file_bytes = Some(file);
        s.memory_usage_bytes = Some(50 * MIB + file);
        s.memory_working_set_bytes = Some(50 * MIB + file / 2);
        s
    }));
    assert!(f.x[4] > 0.0, "working set does grow");
    assert_eq!(f.ttl_mem, None);
    assert_eq!(f.x[8], TTL_CAP as f32);
    assert_eq!(f.x[7], 0.0);
    assert!(f.x[2] > 0.7);
}

/// 5 s samples over 600 s of 100 MiB of anon beside 250 MiB of page cache read over and over
/// (an mmap'd database): no tmpfs figure, as in a cAdvisor export. The inactive part of the
/// cache falls by 0.4 MiB/s from 240 MiB as its pages are promoted, and usage grows by
/// `usage_growth` MiB/s (a cache or tmpfs filling).
fn cache_activated(usage_growth: f64) -> Features {
    run((0..=120).map(|i| {
        let t = i as f64 * 5.0;
        let mut s = base(t);
        let added = (usage_growth * t + wobble(i)) * MIB as f64;
        let inactive = (240.0 - 0.4 * t).max(0.0) * MIB as f64;
        s.memory_anon_bytes = Some(100 * MIB);
        s.memory_file_bytes = Some(250 * MIB + added as u64);
        s.memory_usage_bytes = Some(350 * MIB + added as u64);
        s.memory_working_set_bytes = Some(350 * MIB + added as u64 - inactive as u64);
        s
    }))
}

#[test]
fn a_working_set_rising_to_meet_a_usage_that_holds_still_is_no_leak() {
    // At 600 s the working set is at 350 of 512 MiB and rose 120 MiB over 5 minutes, with
    // usage at 350 MiB since the start: the cache moved to the active list, nothing filled.
    let f = cache_activated(0.0);
    assert!(f.x[4] > 0.03, "the working set climbs {}", f.x[4]);
    assert!(f.ttl_mem.is_none_or(|t| t >= TTL_CAP), "{:?}", f.ttl_mem);
    // Usage that grows as well is memory filling the cgroup: a time to the limit.
    let f = cache_activated(0.2);
    assert!(f.ttl_mem.is_some_and(|t| t < 1200.0), "{:?}", f.ttl_mem);
}

/// Memory the kernel cannot reclaim growing at 1 MiB/s from 100 MiB: usage and working set
/// grow, anon (50 MiB) and the page cache (40 MiB, half inactive) do not, unless
/// `in_cache` (a tmpfs, which the cache counts, in samples without a shmem figure as in a
/// cAdvisor export). 2 s samples, ±2 MiB noise, 200 s.
fn unreclaimable_growth(in_cache: bool) -> Features {
    run((0..=100).map(|i| {
        let t = i as f64 * 2.0;
        let mut s = base(t);
        let grown = ((100.0 + t + 2.0 * wobble(i)) * MIB as f64) as u64;
        s.memory_anon_bytes = Some(50 * MIB);
        s.memory_file_bytes = Some(40 * MIB + if in_cache { grown } else { 0 });
        s.memory_usage_bytes = Some(50 * MIB + 40 * MIB + grown);
        s.memory_working_set_bytes = Some(50 * MIB + 20 * MIB + grown);
        s
    }))
}

#[test]
fn a_kernel_memory_leak_with_anon_and_cache_flat_is_a_leak() {
    // Socket buffers pile up.
    let f = unreclaimable_growth(false);
    // At t=200 s: 370 MiB of 512, 142 MiB left at 1 MiB/s.
    let ttl = f.ttl_mem.unwrap_or(f64::INFINITY);
    assert!((ttl - 142.0).abs() < 25.0, "ttl {ttl}");
    assert!(f.x[7] > 0.05, "unreclaimable envelope slope {}", f.x[7]);
}

/// A leak of 0.2 MiB/s from 150 MiB of anon beside `cache` MiB of page cache, all of it
/// active (in the working set). 5 s samples, ±1 MiB noise, 400 s.
fn leak_beside_active_cache(cache: u64) -> Features {
    leak_beside_cache_from(150.0, cache, 80, None)
}

/// [`leak_beside_active_cache`] from `anon0` MiB of anon, over `last` 5 s samples, with
/// anon `blip.1` MiB higher in sample `blip.0`.
fn leak_beside_cache_from(anon0: f64, cache: u64, last: u64, blip: Option<(u64, f64)>) -> Features {
    run((0..=last).map(|i| {
        let t = i as f64 * 5.0;
        let mut s = base(t);
        let extra = blip.filter(|(at, _)| *at == i).map_or(0.0, |(_, b)| b);
        let anon = ((anon0 + 0.2 * t + wobble(i) + extra) * MIB as f64) as u64;
        s.memory_anon_bytes = Some(anon);
        s.memory_file_bytes = Some(cache * MIB);
        s.memory_shmem_bytes = Some(0);
        s.memory_usage_bytes = Some(anon + cache * MIB);
        s.memory_working_set_bytes = Some(anon + cache * MIB);
        s
    }))
}

#[test]
fn active_page_cache_puts_the_kill_after_the_working_set_reaches_the_limit() {
    // At t=400 s: 230 MiB of anon and 200 of cache, 82 MiB to the limit at 0.2 MiB/s; but
    // the kernel takes the cache first, all but half of it: 182 MiB of room, 910 s.
    let f = leak_beside_active_cache(200);
    let ttl = f.ttl_mem.unwrap_or(f64::INFINITY);
    assert!((ttl - 410.0).abs() < 60.0, "ttl {ttl}");
    let floor = f.cache_floor.unwrap_or(f64::INFINITY);
    assert!((floor - 910.0).abs() < 120.0, "floor {floor}");
    // No cache in the working set: no later than the trend's time.
    let f = leak_beside_active_cache(0);
    let (ttl, floor) = (
        f.ttl_mem.unwrap_or(f64::NAN),
        f.cache_floor.unwrap_or(f64::NAN),
    );
    assert!(floor <= ttl + 1.0, "ttl {ttl} floor {floor}");
}

/// [`leak_beside_active_cache`] from 100 MiB with 200 MiB of cache, sampled for 600 s, and
/// anon `blip` MiB higher in one sample 20 s before the end (a burst of requests).
fn leak_beside_active_cache_blip(blip: f64) -> Features {
    leak_beside_cache_from(100.0, 200, 120, Some((116, blip)))
}

#[test]
fn one_high_peak_does_not_set_the_pace_of_the_cache_floor() {
    // At t=600 s: 220 MiB of anon, 200 of cache (100 of them hot): 192 MiB of room at
    // 0.2 MiB/s, 960 s. A 15 MiB blip raises the 5-minute envelope to 0.3 MiB/s (640 s);
    // the 10-minute one, half as much, sets the pace.
    let clean = leak_beside_active_cache_blip(0.0)
        .cache_floor
        .unwrap_or(f64::NAN);
    let blip = leak_beside_active_cache_blip(15.0)
        .cache_floor
        .unwrap_or(f64::NAN);
    assert!((clean - 960.0).abs() < 100.0, "floor {clean}");
    assert!(
        blip > 0.75 * clean,
        "floor {blip} against {clean} without the blip"
    );
}

/// A container pinned at its 512 MiB limit with 10 MiB of page cache, its anon in memory
/// flat at 500 MiB, while swap takes its growth: from `start` seconds at `rate` MiB/s.
/// Sampled every 10 s up to 600 s; `swap_limit` MiB of swap it may use.
fn swapping(start: f64, rate: f64, swap_limit: Option<u64>) -> Features {
    run((0..=60).map(|i| {
        let t = i as f64 * 10.0;
        let mut s = base(t);
        s.memory_usage_bytes = Some(510 * MIB);
        s.memory_working_set_bytes = Some(510 * MIB);
        s.memory_anon_bytes = Some(500 * MIB);
        s.memory_file_bytes = Some(10 * MIB);
        s.memory_shmem_bytes = Some(0);
        s.memory_swap_bytes = Some(((t - start).max(0.0) * rate * MIB as f64) as u64);
        s.memory_swap_limit_bytes = swap_limit.map(|l| l * MIB);
        s
    }))
}

#[test]
fn swap_the_container_may_still_fill_puts_the_kill_after_it() {
    // 120 MiB of swap used of 300, at 0.2 MiB/s; 2 + 5 MiB of room in memory: 935 s.
    let floor = swapping(0.0, 0.2, Some(300)).swap_floor.unwrap();
    assert!((floor - 935.0).abs() < 60.0, "floor {floor}");
    // Swapping began 100 s ago at 0.6 MiB/s: the last minute's pace, not the five
    // minutes' (a third of it), times the 247 MiB left.
    let floor = swapping(500.0, 0.6, Some(300)).swap_floor.unwrap();
    assert!((floor - 410.0).abs() < 40.0, "floor {floor}");
    // No swap limit known, or the swap full: no floor.
    assert_eq!(swapping(0.0, 0.2, None).swap_floor, None);
    assert_eq!(swapping(0.0, 0.2, Some(100)).swap_floor, None);
}

#[test]
fn a_leak_swapped_out_at_its_limit_is_timed_by_its_swap_filling() {
    // Pinned at the limit with anon flat: the working set gives no time. 180 MiB of swap
    // and 7 MiB of cache room left, at 0.2 MiB/s: 935 s.
    let f = swapping(0.0, 0.2, Some(300));
    assert_eq!(f.ttl_mem, None);
    let fill = f.swap_fill.unwrap();
    assert!((fill - 935.0).abs() < 60.0, "fill {fill}");
    // A burst of swapping as the limit is met is timed at the five minutes' pace
    // (0.2 MiB/s), not the last minute's 0.6 (the floor's 410 s): 247 MiB left, 1,235 s.
    let fill = swapping(500.0, 0.6, Some(300)).swap_fill.unwrap();
    assert!((fill - 1235.0).abs() < 80.0, "fill {fill}");
    // Swap that hardly moves (1.5 MiB in 5 minutes) is no leak swapped out; without a
    // swap limit there is nothing to fill.
    assert_eq!(swapping(0.0, 0.005, Some(300)).swap_fill, None);
    assert_eq!(swapping(0.0, 0.2, None).swap_fill, None);
}

#[test]
fn a_small_cache_given_up_whole_at_a_large_limit_is_reclaim() {
    // 4 GiB limit, usage pinned, anon 4000 → 4060 MiB over 5 minutes while the page cache
    // goes 80 → 20 MiB: 60 MiB, under 2 % of the limit, but three quarters of the cache.
    let f = run((0..=30).map(|i| {
        let t = i as f64 * 10.0;
        let mut s = base(t);
        let anon = 4000.0 + 0.2 * t;
        s.memory_limit_bytes = Some(4096 * MIB);
        s.memory_usage_bytes = Some(4090 * MIB);
        s.memory_working_set_bytes = Some(4090 * MIB);
        s.memory_anon_bytes = Some((anon * MIB as f64) as u64);
        s.memory_file_bytes = Some(((4080.0 - anon) * MIB as f64) as u64);
        s.memory_shmem_bytes = Some(0);
        s
    }));
    // Half of the 20 MiB left kept hot, the rest gone at 0.2 MiB/s: 50 s.
    let ttl = f.ttl_mem.unwrap_or(f64::INFINITY);
    assert!((ttl - 50.0).abs() < 15.0, "ttl {ttl}");
}

#[test]
fn a_step_of_reclaim_after_the_cache_held_is_paced_over_the_window() {
    // 1 GiB limit, working set and usage pinned there (1015–1020 MiB): anon holds at 880 MiB
    // for 4 minutes while the page cache drifts 135 → 140 MiB, then a step of 30 MiB of anon
    // in the last minute takes 30 MiB of cache (140 → 110). Half of the 110 MiB left kept
    // hot, given up at 30 MiB in 5 minutes: 550 s. Paced from the cache's peak alone (30 MiB
    // in the last 60 s) it was 110 s, as if every minute took a step.
    let f = run((0..=30).map(|i| {
        let t = i as f64 * 10.0;
        let mut s = base(t);
        let step = ((t - 240.0) / 60.0).clamp(0.0, 1.0) * 30.0;
        let anon = 880.0 + step;
        let file = 135.0 + t.min(240.0) / 48.0 - step;
        let usage = ((anon + file) * MIB as f64) as u64;
        s.memory_limit_bytes = Some(1024 * MIB);
        s.memory_usage_bytes = Some(usage);
        s.memory_working_set_bytes = Some(usage);
        s.memory_anon_bytes = Some((anon * MIB as f64) as u64);
        s.memory_file_bytes = Some((file * MIB as f64) as u64);
        s.memory_shmem_bytes = Some(0);
        s
    }));
    let ttl = f.ttl_mem.unwrap_or(f64::INFINITY);
    assert!((ttl - 550.0).abs() < 60.0, "ttl {ttl}");
}

/// A container pinned at its 512 MiB limit (usage 510 MiB) for 10 minutes, sampled every
/// 10 s without a shmem figure, whose working set climbs from 470 to 500 MiB as inactive
/// file shrinks. With `leak`, anon grows by 0.2 MiB/s from 200 MiB and the page cache gives
/// way (310 → 190 MiB); without, the cache holds (a tmpfs filling as the inactive part goes).
fn pinned(leak: bool) -> Features {
    run((0..=60).map(|i| {
        let t = i as f64 * 10.0;
        let mut s = base(t);
        let usage = 510.0 * MIB as f64;
        let anon = if leak { 200.0 + 0.2 * t } else { 200.0 } * MIB as f64;
        let inactive = (40.0 - 0.05 * t) * MIB as f64;
        s.memory_usage_bytes = Some(usage as u64);
        s.memory_anon_bytes = Some(anon as u64);
        s.memory_file_bytes = Some((usage - anon) as u64);
        s.memory_working_set_bytes = Some((usage - inactive) as u64);
        s
    }))
}

#[test]
fn a_leak_the_page_cache_makes_room_for_at_the_limit_is_timed_by_the_cache_left() {
    // 190 MiB of cache left, half of it kept hot, given up at 0.2 MiB/s: 475 s, where the
    // working set's 10 MiB at 0.05 MiB/s says 200 s.
    let leak = pinned(true);
    let ttl = leak.ttl_mem.unwrap_or(f64::INFINITY);
    assert!((ttl - 475.0).abs() < 50.0, "ttl {ttl}");
    let held = pinned(false);
    let ttl = held.ttl_mem.unwrap_or(f64::INFINITY);
    assert!(
        ttl < 300.0,
        "a cache that does not give way is no room: ttl {ttl}"
    );
}

#[test]
fn a_leak_eating_the_cache_under_a_saturated_working_set_is_timed_by_the_cache_left() {
    // Usage and working set at the 512 MiB limit (no inactive page cache left), anon
    // +0.2 MiB/s from 300 MiB: the cache falls from 212 to 92 MiB in 10 minutes. Half of
    // what is left, given up at 0.2 MiB/s: 230 s. The working set's flat trend gives none.
    let saturated = |anon_rate: f64| {
        run((0..=60).map(|i| {
            let t = i as f64 * 10.0;
            let mut s = base(t);
            let anon = ((300.0 + anon_rate * t) * MIB as f64) as u64;
            s.memory_usage_bytes = Some(512 * MIB);
            s.memory_working_set_bytes = Some(512 * MIB);
            s.memory_anon_bytes = Some(anon);
            s.memory_file_bytes = Some(512 * MIB - anon);
            s
        }))
    };
    let ttl = saturated(0.2).ttl_mem.unwrap_or(f64::INFINITY);
    assert!((ttl - 230.0).abs() < 30.0, "ttl {ttl}");
    assert_eq!(saturated(0.0).ttl_mem, None, "flat at the limit is no leak");
}

/// A 1 GiB container pinned at its limit for 15 minutes, sampled every 10 s without a
/// shmem figure: anon grows 0.04 MiB/s from 900 MiB and the page cache gives way at the
/// same pace from 115 MiB (plus `swing` MiB of a dip and refill every 2 minutes), while
/// the working set, at 99 % of the limit, creeps up 0.005 MiB/s as inactive file goes
/// (with `dip`, it falls below 90 % of the limit for one sample 5 minutes before the end).
fn creeping_at_the_limit(swing: f64, dip: bool) -> Features {
    run((0..=90).map(|i| {
        let t = i as f64 * 10.0;
        let mut s = base(t);
        let anon = 900.0 + 0.04 * t;
        let wave = swing * (std::f64::consts::TAU * t / 120.0).sin();
        s.memory_limit_bytes = Some(1024 * MIB);
        s.memory_usage_bytes = Some(1023 * MIB);
        s.memory_anon_bytes = Some((anon * MIB as f64) as u64);
        s.memory_file_bytes = Some(((1015.0 - anon + wave) * MIB as f64) as u64);
        let ws = if dip && i == 60 {
            920.0
        } else {
            1014.0 + 0.005 * t
        };
        s.memory_working_set_bytes = Some((ws * MIB as f64) as u64);
        s
    }))
}

#[test]
fn a_cache_given_up_slowly_along_a_line_at_the_limit_is_the_clock() {
    // The fall is 12 MiB in 5 minutes, under 2 % of the limit, but a line over 10: the
    // 79 MiB of cache left, less the last 1 % of the limit, at 0.04 MiB/s is 1720 s.
    let ttl = creeping_at_the_limit(0.0, false)
        .ttl_mem
        .unwrap_or(f64::INFINITY);
    assert!((ttl - 1720.0).abs() < 150.0, "ttl {ttl}");
    // A cache that dips and refills by 15 MiB is no line down: the trend's time stands
    // (about 400 s).
    let ttl = creeping_at_the_limit(15.0, false)
        .ttl_mem
        .unwrap_or(f64::INFINITY);
    assert!(ttl < 1300.0, "ttl {ttl}");
    // Nor is a working set that left the limit in the window (a sawtooth touching it at
    // its peaks sheds cache as its floor creeps, and dies at a peak): no time from the
    // cache (here none at all: the fall out of the trend leaves it untrusted).
    let ttl = creeping_at_the_limit(0.0, true).ttl_mem;
    assert!(ttl.is_none_or(|t| t < 1300.0), "ttl {ttl:?}");
}

#[test]
fn indices_name_their_features() {
    let n = names();
    for (i, name) in [
        (idx::WS_LIMIT_RATIO, "ws_limit_ratio"),
        (idx::WS_ENV_SLOPE_5M, "ws_env_slope_5m"),
        (idx::TTL_MEM, "ttl_mem_s"),
        (idx::CPU_THROTTLE_1M, "cpu_throttle_ratio_1m"),
        (idx::PIDS_RATIO, "pids_ratio"),
        (idx::TTL_PIDS, "ttl_pids_s"),
        (idx::RESTARTS_10M, "restarts_10m"),
        (idx::LAST_REASON, "last_reason"),
        (idx::TTL_NODE, "ttl_node_s"),
        (idx::CPU_THROTTLE_5M, "cpu_throttle_ratio_5m"),
    ] {
        assert_eq!(n[i], name);
    }
}

#[test]
fn a_filling_tmpfs_in_an_export_without_shmem_is_a_leak() {
    // An emptyDir in memory fills: inactive file (usage − working set) stays at 20 MiB.
    let f = unreclaimable_growth(true);
    let ttl = f.ttl_mem.unwrap_or(f64::INFINITY);
    assert!((ttl - 142.0).abs() < 25.0, "ttl {ttl}");
    // Page cache growing as fast, with its inactive part growing too, is not.
    let cache = run((0..=100).map(|i| {
        let t = i as f64 * 2.0;
        let mut s = base(t);
        let file = ((140.0 + t + 2.0 * wobble(i)) * MIB as f64) as u64;
        s.memory_anon_bytes = Some(50 * MIB);
        s.memory_file_bytes = Some(file);
        s.memory_usage_bytes = Some(50 * MIB + file);
        s.memory_working_set_bytes = Some(50 * MIB + file * 3 / 4);
        s
    }));
    assert_eq!(cache.ttl_mem, None);
}

#[test]
fn gc_sawtooth_with_steady_peaks_is_not_a_leak() {
    // 60 s cycle from 200 to 400 MiB, 10 min, 1 s samples, no anon reported.
    let f = run((0..600).map(|i| {
        let t = i as f64;
        let mut s = base(t);
        let phase = (i % 60) as f64 / 60.0;
        s.memory_working_set_bytes = Some(((200.0 + 200.0 * phase) * MIB as f64) as u64);
        s
    }));
    assert_eq!(f.ttl_mem, None, "{:?}", f.x);
    assert!(f.x[4].abs() < 0.01, "envelope slope {}", f.x[4]);
}

#[test]
fn gc_sawtooth_with_creeping_floor_is_a_leak() {
    // Same cycle, but everything rises 0.5 MiB/s.
    let f = run((0..600).map(|i| {
        let t = i as f64;
        let mut s = base(t);
        let phase = (i % 60) as f64 / 60.0;
        s.memory_working_set_bytes = Some(((50.0 + 0.5 * t + 100.0 * phase) * MIB as f64) as u64);
        s
    }));
    let expect = 30.0 / 512.0;
    assert!((f.x[4] as f64 - expect).abs() < 0.02, "{}", f.x[4]);
    assert!(
        f.ttl_mem.is_some_and(|t| t > 30.0 && t < 600.0),
        "{:?}",
        f.ttl_mem
    );
}

#[test]
fn sparse_samples_wait_for_enough_points_before_a_time_to_limit() {
    // A 0.5 MiB/s leak scraped every 30 s: at 150 s only six points (a GC cycle's random
    // phases would look the same), at 300 s eleven.
    let leak = |until: u64| {
        run((0..=until / 30).map(|i| {
            let t = i as f64 * 30.0;
            let mut s = base(t);
            s.memory_working_set_bytes = Some(((100.0 + 0.5 * t) * MIB as f64) as u64);
            s
        }))
    };
    assert_eq!(leak(150).ttl_mem, None);
    // At 300 s: 250 MiB, 262 MiB left at 0.5 MiB/s.
    let ttl = leak(300).ttl_mem.unwrap_or(f64::INFINITY);
    assert!((ttl - 524.0).abs() < 60.0, "ttl {ttl}");
}

#[test]
fn a_clean_climb_at_a_60_s_scrape_is_trusted_before_ten_points() {
    // Ten points at a 60 s scrape take nine minutes, longer than many leaks take. A climb
    // without a GC fall whose slope is unmistakable (t ≥ 6) is trusted from 225 s on.
    let at_60s = |until: u64, mib: &dyn Fn(f64, u64) -> f64| {
        run((0..=until / 60).map(|i| {
            let t = i as f64 * 60.0;
            let mut s = base(t);
            s.memory_working_set_bytes = Some((mib(t, i) * MIB as f64) as u64);
            s
        }))
    };
    let leak = |t: f64, i: u64| 100.0 + 0.5 * t + 3.0 * wobble(i);
    assert_eq!(at_60s(180, &leak).ttl_mem, None, "three minutes: not yet");
    let ttl = at_60s(240, &leak)
        .ttl_mem
        .expect("five clean points over four minutes");
    // 220 MiB at 240 s, 292 MiB left at 0.5 MiB/s: 584 s. With two and three points per
    // half window the envelope's peaks lie 180 s apart, not 120 s, so the estimate errs
    // early (≈ 410 s), the safe side.
    assert!((0.6 * 584.0..=1.1 * 584.0).contains(&ttl), "ttl {ttl}");
    // A 150 s GC cycle between 200 and 400 MiB at the same scrape: its falls show, so it
    // still waits for ten points.
    let gc = |t: f64, _| 200.0 + 200.0 * ((t % 150.0) / 150.0);
    assert_eq!(at_60s(420, &gc).ttl_mem, None);
}

#[test]
fn an_accelerating_climb_at_a_60_s_scrape_is_trusted_on_five_points() {
    // From 90 MiB to 225 of 512 in four minutes, growing as t^2.5: the five points bend
    // away from a line (t ≈ 5 < 6), but each is above the one before.
    let mib = |t: f64| 90.0 + 135.0 * (t / 240.0).powf(2.5);
    let leak = |order: &[f64]| {
        run(order.iter().enumerate().map(|(i, at)| {
            let mut s = base(i as f64 * 60.0);
            s.memory_working_set_bytes = Some((mib(*at) * MIB as f64) as u64);
            s
        }))
    };
    let f = leak(&[0.0, 60.0, 120.0, 180.0, 240.0]);
    assert!(f.ttl_mem.is_some_and(|t| t < 600.0), "{:?}", f.ttl_mem);
    // The same points with one step back (noise on a slower climb) are not yet trusted.
    let f = leak(&[0.0, 120.0, 60.0, 180.0, 240.0]);
    assert_eq!(f.ttl_mem, None);
}

#[test]
fn a_window_holding_part_of_a_slow_gc_cycle_is_not_a_trend() {
    // A steady 120 s cycle from 200 to 400 MiB, sampled every 5 s from phase 0. At 150 s
    // the older half-window peaks at 325 MiB (cut mid-ramp), the recent one at ~400 MiB.
    let f = run((0..=30).map(|i| {
        let t = i as f64 * 5.0;
        let mut s = base(t);
        let phase = (t % 120.0) / 120.0;
        s.memory_working_set_bytes = Some(((200.0 + 200.0 * phase) * MIB as f64) as u64);
        s
    }));
    assert!(f.x[4] > 0.1, "the envelope alone rises: {}", f.x[4]);
    assert_eq!(f.ttl_mem, None, "one GC fall, in one half only");
}

/// A container whose working set in MiB at second `i` is `mib(i)` ± 2 MiB, sampled
/// every second up to `end`.
fn working_set(end: u64, mib: impl Fn(f64) -> f64) -> Features {
    scraped_working_set(end, 1, mib)
}

#[test]
fn a_fresh_ramp_from_a_level_held_for_minutes_is_not_yet_a_trend() {
    // 20 min at 150 MiB of 512, then a batch job allocates 8 MiB/s: 30 s into it, at
    // 390 MiB, the 5-min envelope says the limit in about a minute.
    let ramp = |t: f64| 150.0 + 8.0 * (t - 1170.0).max(0.0);
    let f = working_set(1200, ramp);
    assert_eq!(f.ttl_mem, None, "a 30 s ramp from a flat level");
    // The same level held by memory.high (its events climbing): a leak breaking through.
    let pressed = run((0..=1200).map(|i| {
        let mut s = base(i as f64);
        let v = ramp(i as f64) + 2.0 * wobble(i);
        s.memory_working_set_bytes = Some((v * MIB as f64) as u64);
        s.memory_high_events_total = Some(3 * i);
        s
    }));
    let ttl = pressed.ttl_mem.unwrap_or(f64::INFINITY);
    assert!(ttl < 300.0, "pressed against memory.high: ttl {ttl}");
}

/// [`working_set`] scraped every `every` seconds.
fn scraped_working_set(end: u64, every: usize, mib: impl Fn(f64) -> f64) -> Features {
    run((0..=end).step_by(every).map(|i| {
        let mut s = base(i as f64);
        let v = mib(i as f64) + 2.0 * wobble(i);
        s.memory_working_set_bytes = Some((v * MIB as f64) as u64);
        s
    }))
}

#[test]
fn a_leak_in_bursts_is_one_burst_from_its_limit_a_sawtooth_rebound_is_not() {
    // Scraped every 60 s: 200 MiB of 512, 40 MiB more every 2 minutes, flat in between.
    let bursts = |t: f64| 200.0 + 40.0 * (t / 120.0).floor();
    // At 400 MiB the largest burst is short of the 112 MiB left; at 480 MiB it covers 32.
    let early = scraped_working_set(660, 60, bursts);
    assert!(
        early.ttl_mem.is_some() && !early.step_reaches_limit,
        "{early:?}"
    );
    let late = scraped_working_set(900, 60, bursts);
    assert!(
        late.ttl_mem.is_some() && late.step_reaches_limit,
        "{late:?}"
    );

    // A steady GC sawtooth, 200 → 488 MiB every 150 s: its rebounds from a trough rise
    // 115 MiB between samples, more than the 82 MiB left at its highest sample, but none
    // sets a new high.
    let mut h = History::new();
    let mut rebound = 0.0f64;
    let mut prev = None;
    for i in (0..=1200u64).step_by(60) {
        let mut s = base(i as f64);
        let v = 200.0 + 1.92 * (i % 150) as f64;
        s.memory_working_set_bytes = Some((v * MIB as f64) as u64);
        h.push(&s);
        if i >= 900 {
            rebound = rebound.max(v - prev.unwrap_or(v));
        }
        prev = Some(v);
    }
    let headroom = (512.0 - 430.4) * MIB as f64;
    assert!(rebound * MIB as f64 > headroom, "rebound {rebound} MiB");
    assert!(!step_reaches_limit(&h, 1200.0, 60.0, headroom));
    // Dense samples are left to the time to limit: the next one is seconds away.
    assert!(!step_reaches_limit(&h, 1200.0, 10.0, 0.0));
}

/// 5 min at 1 s of a line from `start` MiB rising `rate` MiB/s, ±2 MiB of noise, and a
/// 4 s burst of 30 MiB late in the window (a burst of requests).
fn noisy_with_burst(start: f64, rate: f64) -> Features {
    working_set(300, |t| {
        let burst = if (250.0..254.0).contains(&t) {
            30.0
        } else {
            0.0
        };
        start + rate * t + burst
    })
}

#[test]
fn a_heap_that_sized_itself_after_the_start_and_holds_is_not_a_leak() {
    // 20 → 440 of 512 MiB in the first 100 s, then flat. At 170 s the envelope still has
    // the ramp in its older half (130 s to the limit, trusted before); the last 70 s are
    // flat.
    let f = working_set(170, |t| 20.0 + 4.2 * t.min(100.0));
    assert!(f.x[4] > 0.0, "the envelope still rises: {}", f.x[4]);
    assert_eq!(f.ttl_mem, None);
}

#[test]
fn a_ramp_that_ended_two_scrapes_ago_is_not_a_leak() {
    // 20 → 452 of 512 MiB in the first 120 s, scraped every 15 s, the same since: at 150 s
    // the two newest scrapes held where the ramp's pace would have reached the limit.
    let f = scraped_working_set(150, 15, |t| 20.0 + 3.6 * t.min(120.0));
    assert!(f.x[4] > 0.0, "the envelope still rises: {}", f.x[4]);
    assert_eq!(f.ttl_mem, None);
}

#[test]
fn a_leak_scraped_every_15_s_is_trusted() {
    // 2 MiB/s from the start, scraped every 15 s: 440 MiB at 210 s, 36 s from the limit.
    let f = scraped_working_set(210, 15, |t| 20.0 + 2.0 * t);
    assert!(f.ttl_mem.is_some_and(|t| t < 120.0), "{:?}", f.ttl_mem);
}

#[test]
fn a_leak_from_the_start_at_the_same_pace_is_trusted() {
    // The same start, 2 MiB/s throughout: 420 MiB at 200 s, 46 s from the limit.
    let f = working_set(200, |t| 20.0 + 2.0 * t);
    assert!(f.ttl_mem.is_some_and(|t| t < 120.0), "{:?}", f.ttl_mem);
}

#[test]
fn a_warm_up_that_bends_over_below_the_limit_is_not_a_leak() {
    // A cache filling toward 460 MiB with τ = 90 s: at 240 s it is at about 430 MiB and
    // still rising, the 5-minute envelope gives about two minutes to the limit, but the
    // pace has fallen by e each 90 s and adds about 30 MiB more.
    let f = working_set(240, |t| 20.0 + 440.0 * (1.0 - (-t / 90.0).exp()));
    assert!(f.x[4] > 0.0, "the envelope still rises: {}", f.x[4]);
    assert_eq!(f.ttl_mem, None);
}

#[test]
fn a_warm_up_from_the_start_toward_a_plateau_is_not_a_leak() {
    // 20 MiB rising toward 470 of 512 MiB with τ = 80 s: at 150 s it is at about 400 MiB
    // and rising 0.9 MiB/s (two minutes to the limit at that pace), but the pace has
    // fallen six-fold since the start and adds only 70 MiB more.
    let f = working_set(150, |t| 20.0 + 450.0 * (1.0 - (-t / 80.0).exp()));
    assert!(f.x[4] > 0.0, "the envelope still rises: {}", f.x[4]);
    assert_eq!(f.ttl_mem, None);
}

#[test]
fn a_fast_ramp_that_ended_near_the_limit_is_not_a_leak() {
    // Toward 480 of 512 MiB with τ = 30 s, scraped every 10 s: at 130 s it is at 93 % and
    // rose 8 MiB in the last 30 s. The clean climb before it gives 40 s to the limit, which
    // the early path for a climb at the limit's doorstep trusts before the trust span.
    let f = scraped_working_set(130, 10, |t| 30.0 + 450.0 * (1.0 - (-t / 30.0).exp()));
    assert!(f.x[4] > 0.0, "the envelope still rises: {}", f.x[4]);
    assert_eq!(f.ttl_mem, None);
}

#[test]
fn a_slowing_rise_that_would_level_off_above_the_limit_is_trusted() {
    // Toward 700 MiB, past the 512 MiB limit, with τ = 150 s: it slows down, but at 150 s
    // (450 MiB) it still has 250 MiB to go, four times the headroom.
    let f = working_set(150, |t| 20.0 + 680.0 * (1.0 - (-t / 150.0).exp()));
    assert!(f.ttl_mem.is_some_and(|t| t < 120.0), "{:?}", f.ttl_mem);
}

#[test]
fn an_accelerating_leak_from_the_start_is_trusted() {
    // 20 MiB + 0.006 t² MiB: 260 MiB at 200 s and speeding up.
    let f = working_set(200, |t| 20.0 + 0.006 * t * t);
    assert!(f.ttl_mem.is_some_and(|t| t < 300.0), "{:?}", f.ttl_mem);
}

#[test]
fn a_step_that_holds_in_an_old_instance_is_still_a_step_of_a_leak() {
    // Flat at 200 MiB for ten minutes, one chunk of 240 MiB at 600 s, held to 700 s: past
    // a start-up, a level that steps up and holds is how a stepwise leak looks between
    // two chunks.
    let f = working_set(700, |t| if t < 600.0 { 200.0 } else { 440.0 });
    assert!(f.ttl_mem.is_some_and(|t| t < 120.0), "{:?}", f.ttl_mem);
}

#[test]
fn a_leak_with_gaps_in_its_series_is_still_a_trend() {
    // 1.5 MiB/s from 100 MiB, 1 s samples, and one sample in 37 without any memory figure
    // (the series missing from that scrape): each gap used to blank its bucket and with it
    // the envelope for five minutes.
    let f = run((0..=200u64).map(|i| {
        let mut s = base(i as f64);
        if i % 37 != 5 {
            s.memory_working_set_bytes = Some(((100.0 + 1.5 * i as f64) * MIB as f64) as u64);
        }
        s
    }));
    assert!(
        f.ttl_mem.is_some_and(|t| (t - 75.0).abs() < 15.0),
        "{:?}",
        f.ttl_mem
    );
}

#[test]
fn a_few_noisy_seconds_near_the_top_of_a_flat_line_are_not_a_trend() {
    // Flat at 460 of 512 MiB. The burst puts the recent half's peak 30 MiB above the older
    // one, ten mean steps between bucket peaks: the envelope test alone trusted that and
    // gave a time to the limit. The bucket means show no climb.
    let f = noisy_with_burst(460.0, 0.0);
    assert!(f.x[4] > 0.0, "the envelope alone rises: {}", f.x[4]);
    assert_eq!(f.ttl_mem, None);
}

#[test]
fn a_slow_leak_under_the_same_noise_is_a_trend() {
    // 0.1 MiB/s (6 MiB a minute) under the same noise and burst.
    let f = noisy_with_burst(400.0, 0.1);
    assert!(f.ttl_mem.is_some_and(|t| t < 3600.0), "{:?}", f.ttl_mem);
}

#[test]
fn four_points_in_a_row_near_the_limit_are_not_yet_a_clean_climb() {
    // At a 10 s scrape, four noisy samples of a flat line near the limit rise on a line
    // (r² ≥ 0.95) about once in 80 windows; five, once in 450.
    let at = |n: u64| {
        run((0..n).map(|i| {
            let mut s = base(i as f64 * 10.0);
            s.memory_working_set_bytes = Some((468 + 10 * i) * MIB);
            s
        }))
    };
    assert_eq!(at(4).ttl_mem, None);
    assert!(
        at(5).ttl_mem.is_some_and(|t| t < 60.0),
        "{:?}",
        at(5).ttl_mem
    );
}

#[test]
fn two_noisy_maxima_of_a_flat_line_are_not_a_trend() {
    // Flat near the limit, ±3 MiB from one 10 s sample to the next; by chance the recent
    // half peaks 3 MiB above the older one (under 1.5 mean steps of 7 MiB).
    let f = run((0..=16).map(|i| {
        let t = i as f64 * 10.0;
        let mut s = base(t);
        let mib = match (t < 80.0, i % 2 == 0) {
            (true, true) => 470,
            (true, false) => 476,
            (false, true) => 471,
            (false, false) => 479,
        };
        s.memory_working_set_bytes = Some(mib * MIB);
        s
    }));
    assert!(f.x[4] > 0.0, "the envelope alone rises: {}", f.x[4]);
    assert_eq!(f.ttl_mem, None);
}

#[test]
fn counter_reset_gives_no_negative_rate() {
    let f = run((0..120).map(|i| {
        let mut s = base(i as f64);
        // Restart at 60 s: counters start again from 0.
        let c = if i < 60 { 1000 + i * 10 } else { (i - 60) * 10 };
        s.cpu_periods_total = Some(c);
        s.cpu_throttled_periods_total = Some(c / 2);
        s.memory_max_events_total = Some(if i < 60 { 500 } else { 1 });
        s.restarts_total = Some(if i < 60 { 3 } else { 0 });
        s
    }));
    // Counted from the reset, as Prometheus' increase() does: 1 max event since restart.
    assert_eq!(f.x[13], 1.0);
    assert_eq!(f.x[22], 0.0);
    // The new cgroup's own throttling: half its periods.
    assert!((f.x[17] - 0.5).abs() < 0.02, "{}", f.x[17]);
}

#[test]
fn missing_fields_fall_back_to_unknown() {
    let s = Sample {
        ts: 5.0,
        id: "x".into(),
        memory_usage_bytes: Some(900),
        ..Default::default()
    };
    let f = extract_once(&s);
    assert_eq!(f.x[0], UNKNOWN);
    assert_eq!(f.x[2], UNKNOWN);
    assert_eq!(f.x[15], UNKNOWN);
    assert_eq!(f.x[17], UNKNOWN);
    assert_eq!(f.x[8], TTL_CAP as f32);
    assert_eq!(f.ttl_mem, None);
    // Usage stands in for the working set when the latter is missing.
    let mut s2 = s.clone();
    s2.memory_limit_bytes = Some(1000);
    assert_eq!(extract_once(&s2).x[0], 0.9);
}

#[test]
fn pids_growth_gives_time_to_pids_max() {
    // +2 pids/s toward 1000, 15 s samples.
    let f = run((0..=20).map(|i| {
        let t = i as f64 * 15.0;
        let mut s = base(t);
        s.pids_current = Some(100 + 30 * i);
        s.pids_limit = Some(1000);
        s
    }));
    // At t=300: 700 pids, 300 left at 2/s.
    let ttl = f.ttl_pids.unwrap_or(f64::INFINITY);
    assert!((ttl - 150.0).abs() < 20.0, "{ttl}");
    assert!((f.x[20] - 0.7).abs() < 1e-6);
}

#[test]
fn a_pool_filled_at_start_up_is_not_timed_until_the_instance_has_run_a_while() {
    // A server starting its thread pools: 0 to 150 of 256 tasks in its first 50 s.
    let pool: Vec<u64> = (0..=10).map(|i| 15 * i).collect();
    let f = run(pids_every_5_s(&pool).into_iter());
    assert_eq!(f.ttl_pids, None, "start-up");
    assert_eq!(f.x[21], TTL_CAP as f32);
    // The same climb after three minutes of running is a leak.
    let mut leak = vec![10; 36];
    leak.extend((1..=10).map(|i| 10 + 14 * i));
    assert!(
        run(pids_every_5_s(&leak).into_iter()).ttl_pids.is_some(),
        "running"
    );
    // And after a restart the climb that killed the instance before is back.
    let mut before = vec![200; 12];
    before.extend(&pool);
    let restarted: Vec<Sample> = pids_every_5_s(&before)
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| {
            s.restarts_total = Some(u64::from(i >= 12));
            s
        })
        .collect();
    assert!(run(restarted.into_iter()).ttl_pids.is_some(), "restarted");
}

#[test]
fn the_nodes_trend_is_not_read_from_a_containers_first_seconds() {
    // A BestEffort pod on a node whose available memory falls by 10 MiB/s from 3 GiB, seen
    // for `secs` seconds: about 300 s to the kubelet's threshold.
    let seen = |secs: u64| {
        run((0..=secs / 5).map(|i| {
            let t = i as f64 * 5.0;
            let mut s = base(t);
            s.memory_limit_bytes = None;
            s.memory_working_set_bytes = Some(200 * MIB);
            s.qos = Some(crate::sample::Qos::Besteffort);
            s.node_memory_total_bytes = Some(16 << 30);
            s.node_memory_available_bytes = Some(((3072.0 - 10.0 * t) * MIB as f64) as u64);
            s
        }))
    };
    // 30 s in (a pod just started, or the agent): the allocations of a moment, not a trend.
    assert_eq!(seen(30).ttl_node, None);
    let ttl = seen(90).ttl_node.unwrap_or(f64::INFINITY);
    assert!((ttl - 207.0).abs() < 30.0, "{ttl}");
}

/// Samples every 5 s with pids.max 256 and the task counts `pids`.
fn pids_every_5_s(pids: &[u64]) -> Vec<Sample> {
    pids.iter()
        .enumerate()
        .map(|(i, &p)| {
            let mut s = base(i as f64 * 5.0);
            s.pids_current = Some(p);
            s.pids_limit = Some(256);
            s
        })
        .collect()
}

#[test]
fn a_pool_that_jumps_toward_pids_max_and_drains_is_no_leak() {
    // Flat at 40 for 4 minutes, then a request burst to 180 of 256 in one scrape.
    let mut pids = vec![40; 48];
    pids.push(180);
    assert_eq!(
        run(pids_every_5_s(&pids).into_iter()).ttl_pids,
        None,
        "one scrape's jump"
    );
    // Idle threads time out: 5 s later the pool is draining.
    pids.extend([174, 168]);
    assert_eq!(
        run(pids_every_5_s(&pids).into_iter()).ttl_pids,
        None,
        "draining"
    );
    // A second burst while the first still drains: the window holds a fall.
    pids.extend((0..10).map(|i| 160 - 8 * i));
    pids.extend([150, 190, 190]);
    assert_eq!(
        run(pids_every_5_s(&pids).into_iter()).ttl_pids,
        None,
        "a second burst"
    );
    // The same step that holds (a leak taking threads in batches) counts once the next
    // bucket confirms it.
    let mut leak = vec![40; 48];
    leak.extend([180, 181, 180, 182]);
    assert!(
        run(pids_every_5_s(&leak).into_iter()).ttl_pids.is_some(),
        "a held step"
    );
}

#[test]
fn a_task_count_without_pids_max_is_timed_to_the_next_power_of_two() {
    // A thread leak creeping 3 tasks every 5 s from 300, in samples without pids.max: after
    // 10 minutes it is at 660, 364 tasks (607 s) short of 1024.
    let creep = |unset: bool| -> Vec<Sample> {
        let pids: Vec<u64> = (0..=120).map(|i| 300 + 3 * i).collect();
        let mut v = pids_every_5_s(&pids);
        for s in &mut v {
            s.pids_limit = None;
            s.pids_limit_unset = unset;
        }
        v
    };
    let ttl = run(creep(false).into_iter())
        .ttl_pids
        .expect("a time to 1024");
    assert!((ttl - 607.0).abs() < 30.0, "{ttl}");
    // The collector read `max` in both pids.max files: no limit at all, nothing to time.
    assert_eq!(run(creep(true).into_iter()).ttl_pids, None, "unset");
    // An instance that already reached 1100 was not stopped at 1024: the next is 2048.
    let mut high = creep(false);
    high.insert(0, {
        let mut s = high[0].clone();
        s.ts = -3600.0;
        s.pids_current = Some(1100);
        s
    });
    let ttl = run(high.into_iter()).ttl_pids.expect("a time to 2048");
    assert!((ttl - 2313.0).abs() < 100.0, "{ttl}");
    // A pool that more than doubled in 5 minutes, from 300 to 800, is answering load.
    let pool: Vec<u64> = (0..=120)
        .map(|i| if i < 60 { 300 } else { 300 + (i - 60) * 9 })
        .collect();
    let mut pool = pids_every_5_s(&pool);
    pool.iter_mut().for_each(|s| s.pids_limit = None);
    assert_eq!(run(pool.into_iter()).ttl_pids, None, "a pool");
    // A corrupt count past any power of two is no limit to time to (and no panic).
    let mut wild = creep(false);
    wild.last_mut().unwrap().pids_current = Some(u64::MAX - 1);
    assert_eq!(run(wild.into_iter()).ttl_pids, None, "a corrupt count");
}

/// A GC heap scraped every 60 s up to `end`: each cycle of `n` samples climbs `step` of
/// the limit a sample from a floor that starts at `floor` and rises `creep` a cycle, then
/// collects.
fn sawtooth_every_60_s(n: u64, floor: f64, step: f64, creep: f64, end: u64) -> Vec<Sample> {
    (0..=end / 60)
        .map(|i| {
            let level = floor + creep * (i / n) as f64 + step * (i % n) as f64;
            let mut s = base(i as f64 * 60.0);
            s.memory_working_set_bytes = Some((level * 512.0 * MIB as f64) as u64);
            s
        })
        .collect()
}

#[test]
fn a_sparse_scrape_in_a_gc_trough_runs_the_time_to_limit_from_the_peaks() {
    // Cycles of four samples climbing 0.1 each from a floor at 0.3 that creeps 0.05.
    // t=720 is the first sample of cycle 3 (at 0.45 of the limit), just after a collection;
    // the peaks so far were 0.60 (t=180), 0.65 (t=420), 0.70 (t=660). The next peak meets
    // the limit when the peaks' line does, so the time to limit runs from that line at
    // t=720, 0.70 + one minute of growth, not from the trough 0.25 of the limit lower.
    let f = run(sawtooth_every_60_s(4, 0.3, 0.1, 0.05, 720).into_iter());
    let w = f.x[0] as f64;
    assert!((w - 0.45).abs() < 1e-3, "{w}");
    let g = f.x[5] as f64 / 60.0; // the 10 min envelope, the slowest one here
    assert!(g > 0.0, "{:?}", f.x);
    let from_peaks = (1.0 - (0.70 + g * 60.0)) / g;
    let ttl = f.ttl_mem.unwrap_or(f64::INFINITY);
    assert!((ttl - from_peaks).abs() < 5.0, "{ttl} vs {from_peaks}");
    assert!(ttl < 0.6 * (1.0 - w) / g, "{ttl}");

    // A noise spike is no peak to run from: flat at 0.94 with one sample 0.03 higher.
    let flat = run((0..=12).map(|i| {
        let mut s = base(i as f64 * 60.0);
        let level = if i == 10 { 0.97 } else { 0.94 };
        s.memory_working_set_bytes = Some((level * 512.0 * MIB as f64) as u64);
        s
    }));
    let g = (flat.x[4].min(flat.x[5]) as f64 / 60.0).max(1e-9);
    let from_sample = (1.0 - 0.94) / g;
    let ttl = flat.ttl_mem.unwrap_or(f64::INFINITY);
    assert!(
        ttl >= from_sample.min(TTL_CAP) - 1.0,
        "{ttl} vs {from_sample}"
    );
}

#[test]
fn a_gc_creep_with_cycles_as_long_as_the_window_is_trusted_from_whole_cycles() {
    // Cycles of five samples climbing 0.06 each from a floor at 0.4 that creeps 0.05.
    // At 60 s a 5-minute cycle puts a collection in one half of the 5 min window only;
    // over 10 minutes each half holds a whole cycle. Peaks 0.64, 0.69, 0.74, 0.79 (every
    // 300 s, at t=240, 540, 840, 1140): at t=1140 the limit is (1 − 0.79) / 0.05 cycles,
    // 21 minutes, away.
    let f = run(sawtooth_every_60_s(5, 0.4, 0.06, 0.05, 1140).into_iter());
    let ttl = f
        .ttl_mem
        .expect("a creeping 5-minute sawtooth at 60 s is trusted");
    assert!((900.0..=1500.0).contains(&ttl), "{ttl}");
    // The same heap without the creep: its peaks are level, so no time to limit.
    let steady = run(sawtooth_every_60_s(5, 0.4, 0.06, 0.0, 1140).into_iter());
    assert_eq!(steady.ttl_mem, None, "{:?}", steady.x);
}

/// 15 s samples up to `end` of a leak whose anon memory starts at 290 MiB of a 512 MiB
/// limit and jumps by 60 MiB at each of `steps` (seconds), with 10 MiB of page cache.
fn stepping(end: f64, steps: &[f64]) -> impl Iterator<Item = Sample> + '_ {
    (0..=(end / 15.0) as u64).map(move |i| {
        let t = i as f64 * 15.0;
        let n = steps.iter().filter(|s| **s <= t).count() as u64;
        let anon = (290 + 60 * n) * MIB + (wobble(i) * 0.2 * MIB as f64) as u64;
        let mut s = base(t);
        s.memory_anon_bytes = Some(anon);
        s.memory_file_bytes = Some(10 * MIB);
        s.memory_usage_bytes = Some(anon + 10 * MIB);
        s.memory_working_set_bytes = Some(anon + 10 * MIB);
        s
    })
}

#[test]
fn a_leak_in_regular_steps_is_timed_by_its_next_step() {
    let every = [900.0, 1800.0, 2700.0];
    // 100 s after the third step (to 470 MiB), the trend through it says minutes; the next
    // step, which no longer fits under the limit, comes about 15 minutes after the last.
    let applied = |end| {
        let f = run(stepping(end, &every));
        crate::predict::step_clock_applied(&f, f.ttl_mem, 0.0)
    };
    let (ttl, step_reaches_limit) = applied(2800.0);
    let ttl = ttl.unwrap();
    assert!(ttl > crate::predict::ALARM_HORIZON, "{ttl}");
    assert!(!step_reaches_limit);
    // Eight minutes on, the trend is flat, and the step that kills is due.
    assert!(applied(3200.0).1);
    // Long overdue, the rhythm has ended.
    assert!(!applied(4800.0).1);
    // Steps far apart but without a rhythm (5 and 25 minutes), or a heap that falls back
    // between its highs, get no clock.
    let mut h = History::new();
    for s in stepping(2800.0, &[900.0, 1200.0, 2700.0]) {
        h.push(&s);
    }
    assert!(step_clock(&h, 2800.0, 470.0 * MIB as f64, 512.0 * MIB as f64).is_none());
    let mut h = History::new();
    for mut s in stepping(2800.0, &every) {
        if s.ts % 900.0 == 450.0 {
            s.memory_anon_bytes = Some(200 * MIB);
            s.memory_usage_bytes = Some(210 * MIB);
        }
        h.push(&s);
    }
    assert!(h.steps().len() >= 3);
    assert!(step_clock(&h, 2800.0, 470.0 * MIB as f64, 512.0 * MIB as f64).is_none());
}

/// 20 min of 10 s samples of a 512 MiB container whose memory.high (480 MiB) holds its usage:
/// page cache fills it up to there beside a 300 MiB working set, memory.high events climb, no
/// memory.max ones. From 1140 s a burst takes the working set to usage in 40 s (anonymous
/// memory in the cache's place); from 1180 s usage grows `breaks` MiB/s past memory.high.
fn burst_under_memory_high(breaks: f64) -> Features {
    run((0..=121).map(|i| {
        let t = i as f64 * 10.0;
        let mut s = base(t);
        let usage = 480.0 + breaks * (t - 1180.0).max(0.0) + 0.3 * wobble(i);
        let ws = (300.0 + 4.5 * (t - 1140.0).clamp(0.0, 40.0) + breaks * (t - 1180.0).max(0.0))
            .min(usage);
        s.memory_usage_bytes = Some((usage * MIB as f64) as u64);
        s.memory_working_set_bytes = Some((ws * MIB as f64) as u64);
        s.memory_high_events_total = Some(5 * i);
        s.memory_max_events_total = Some(0);
        s
    }))
}

#[test]
fn a_burst_that_memory_high_holds_short_of_the_limit_is_not_timed_by_its_climb() {
    // At 1210 s the working set has stood at usage, 480 MiB, for 30 s: the climb that brought
    // it there (4.5 MiB/s, 32 MiB left) is memory.high's to throttle, not a time to the kill.
    let f = burst_under_memory_high(0.0);
    assert!(f.x[idx::HIGH_EVENTS_1M] > 0.0);
    assert!(f.ttl_mem.is_none_or(|t| t >= TTL_CAP), "{:?}", f.ttl_mem);
    // Usage breaking through memory.high toward the limit (0.5 MiB/s, at 495 MiB) is timed.
    let f = burst_under_memory_high(0.5);
    assert!(f.ttl_mem.is_some_and(|t| t < 120.0), "{:?}", f.ttl_mem);
}
