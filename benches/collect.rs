//! Collector cost: each kernel-file parser, a full sweep of a generated 1,000-container v2
//! tree, and a raw `std::fs::read` of exactly the files that sweep reads (the floor: the
//! ratio sweep / raw read is the collector's own overhead).
//!
//! The tree lives on tmpfs (`tree::scratch_dir`), memory-backed like cgroupfs.
//!
//! Run: `cargo bench --bench collect -- --quick` (figures go to docs/collector.md).
use crashwatch::cgroup::{v1, v2, KernelFile};
use crashwatch::collect::{CollectConfig, Collector};
use crashwatch::sample::{Qos, Sample};
use crashwatch::tree::{ContainerSpec, TreeWriter};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::path::PathBuf;

const V2_STAT: &str = "anon 411045888\nfile 52428800\nkernel 20971520\nkernel_stack 589824\npagetables 12029952\nsec_pagetables 0\npercpu 1152\nsock 0\nvmalloc 0\nshmem 4096\nzswap 0\nzswapped 0\nfile_mapped 1048576\nfile_dirty 8192\nfile_writeback 0\nswapcached 0\nanon_thp 0\nfile_thp 0\nshmem_thp 0\ninactive_anon 411316224\nactive_anon 270336\ninactive_file 41943040\nactive_file 10485760\nunevictable 10\nslab_reclaimable 17756400\nslab_unreclaimable 2177424\nslab 19933824\nworkingset_refault_anon 5\nworkingset_refault_file 6\nworkingset_activate_anon 5\nworkingset_activate_file 5\nworkingset_restore_anon 5\nworkingset_restore_file 5\nworkingset_nodereclaim 5\npswpin 0\npswpout 0\npgscan 0\npgsteal 0\npgscan_kswapd 0\npgscan_direct 0\npgsteal_kswapd 0\npgsteal_direct 0\npgfault 580970907\npgmajfault 3\npgrefill 0\npgactivate 46794\npgdeactivate 0\npglazyfree 119427\npglazyfreed 0\nzswpin 0\nzswpout 0\nthp_fault_alloc 12\nthp_collapse_alloc 0\n";
const V1_STAT: &str = "cache 1048576\nrss 8404992\nrss_huge 0\nshmem 0\nmapped_file 0\ndirty 0\nwriteback 0\nworkingset_refault_anon 0\nworkingset_refault_file 0\nswap 0\nswapcached 0\npgpgin 2376\npgpgout 357\npgfault 3267\npgmajfault 0\ninactive_anon 0\nactive_anon 8359936\ninactive_file 524288\nactive_file 524288\nunevictable 0\nhierarchical_memory_limit 9223372036854771712\nhierarchical_memsw_limit 9223372036854771712\ntotal_cache 2097152\ntotal_rss 8404992\ntotal_rss_huge 0\ntotal_shmem 0\ntotal_mapped_file 4096\ntotal_dirty 0\ntotal_writeback 0\ntotal_workingset_refault_anon 0\ntotal_workingset_refault_file 0\ntotal_swap 0\ntotal_swapcached 0\ntotal_pgpgin 2376\ntotal_pgpgout 357\ntotal_pgfault 3267\ntotal_pgmajfault 1\ntotal_inactive_anon 0\ntotal_active_anon 8359936\ntotal_inactive_file 1572864\ntotal_active_file 524288\ntotal_unevictable 0\n";

fn parse<T: KernelFile>(c: &mut Criterion, version: &str, text: &'static str) {
    c.bench_function(&format!("parse/{version}/{}", T::NAME), |b| {
        b.iter(|| black_box(T::parse(black_box(text)).is_ok()))
    });
}

fn parsers(c: &mut Criterion) {
    parse::<v2::MemoryStat>(c, "v2", V2_STAT);
    parse::<v2::MemoryEvents>(
        c,
        "v2",
        "low 0\nhigh 3\nmax 17\noom 2\noom_kill 2\noom_group_kill 0\n",
    );
    parse::<v2::MemoryPressure>(c, "v2", "some avg10=1.50 avg60=0.25 avg300=0.00 total=123\nfull avg10=0.50 avg60=0.00 avg300=0.00 total=7\n");
    parse::<v2::CpuStat>(c, "v2", "usage_usec 26772130245\nuser_usec 20979069928\nsystem_usec 5793060316\nnice_usec 0\ncore_sched.force_idle_usec 0\nnr_periods 120\nnr_throttled 4\nthrottled_usec 10\nnr_bursts 0\nburst_usec 0\n");
    parse::<v2::CpuMax>(c, "v2", "50000 100000\n");
    parse::<v2::MemoryMax>(c, "v2", "268435456\n");
    parse::<v2::PidsMax>(c, "v2", "max\n");
    parse::<v1::MemoryStat>(c, "v1", V1_STAT);
    parse::<v1::MemoryOomControl>(c, "v1", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
    parse::<v1::MemoryLimitInBytes>(c, "v1", "9223372036854771712\n");
    parse::<v1::CpuStat>(
        c,
        "v1",
        "nr_periods 500\nnr_throttled 25\nthrottled_time 1500000000\n",
    );
}

/// Files one sweep reads per container (v2); per pod and per node below.
const CONTAINER_FILES: [&str; 11] = [
    "memory.current",
    "memory.max",
    "memory.stat",
    "memory.events",
    "memory.swap.current",
    "memory.pressure",
    "cpu.stat",
    "cpu.max",
    "cpu.pressure",
    "pids.current",
    "pids.max",
];

fn sweep_1000(c: &mut Criterion) {
    let dir = crashwatch::tree::scratch_dir().expect("scratch dir");
    let mut w = TreeWriter::create(dir.path()).expect("tree");
    let mut files: Vec<PathBuf> = Vec::new();
    for i in 0..1000u32 {
        // 3 containers per pod, QoS rotating per pod, a third of them unlimited.
        let pod = i / 3;
        let qos = [Qos::Guaranteed, Qos::Burstable, Qos::Besteffort][(pod % 3) as usize];
        let spec = ContainerSpec::generated(pod, i % 3, qos);
        let s = Sample {
            memory_usage_bytes: Some(100 << 20),
            memory_working_set_bytes: Some(80 << 20),
            memory_limit_bytes: (qos != Qos::Besteffort).then_some(256 << 20),
            cpu_usage_seconds_total: Some(i as f64),
            pids_current: Some(5),
            ..Default::default()
        };
        let d = w.write_container(&spec, &s).expect("write");
        files.extend(CONTAINER_FILES.iter().map(|f| d.join(f)));
        if i % 3 == 0 {
            let pod = w.cgroup_root().join(spec.pod_rel());
            files.push(pod.join("memory.events"));
            // The containers say pids.max `max`, so the sweep reads the pod's.
            files.push(pod.join("pids.max"));
        }
    }
    for f in ["meminfo", "pressure/memory", "pressure/cpu", "pressure/io"] {
        files.push(w.proc_root().join(f));
    }
    let mut col = Collector::new(CollectConfig {
        cgroup_root: w.cgroup_root().into(),
        proc_root: w.proc_root().into(),
        node_name: "bench".into(),
    });
    let (snap, stats) = col.sweep();
    assert_eq!(snap.containers.len(), 1000);
    assert_eq!(stats.error_count(), 0);
    eprintln!("sweep reads {} files for 1000 containers", files.len());

    let mut g = c.benchmark_group("tree_1000_containers");
    g.sample_size(20);
    g.bench_function("collector_sweep", |b| {
        b.iter(|| black_box(col.sweep().0.containers.len()))
    });
    g.bench_function("raw_read_same_files", |b| {
        b.iter(|| {
            let mut n = 0;
            for f in &files {
                n += std::fs::read(f).map(|v| v.len()).unwrap_or(0);
            }
            black_box(n)
        })
    });
    // The demo and soak tests rewrite every container each tick: one full rewrite of the tree.
    let specs: Vec<(ContainerSpec, Sample)> = (0..1000u32)
        .map(|i| {
            let spec = ContainerSpec::generated(i / 3, i % 3, Qos::Burstable);
            let s = Sample {
                memory_usage_bytes: Some((100 << 20) + i as u64),
                ..Default::default()
            };
            (spec, s)
        })
        .collect();
    g.bench_function("tree_writer_rewrite_all", |b| {
        b.iter(|| {
            for (spec, s) in &specs {
                black_box(w.write_container(spec, s).is_ok());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, parsers, sweep_1000);
criterion_main!(benches);
