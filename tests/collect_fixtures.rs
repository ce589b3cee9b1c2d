//! `crashwatch collect --once --format json` on every fixture node tree (real binary, real
//! files): exact values for every container, the malformed file counted, noise ignored.
//! Expected values are the ones the fixtures were written with (see fixtures/README.md).
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What one container must look like.
struct Want {
    id: &'static str,
    uid: &'static str,
    qos: &'static str,
    usage: u64,
    ws: Option<u64>,
    limit: Option<u64>,
    oom_kills: Option<u64>,
    pod_oom_kills: Option<u64>,
    cpu_limit: Option<f64>,
    pids: u64,
    pids_limit: Option<u64>,
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Run collect on a fixture; returns (stdout, stderr).
fn collect(name: &str, format: &str) -> (String, String) {
    collect_at(&fixture(name), format)
}

/// Run collect on the node tree at `base` (`sys/fs/cgroup` and `proc` under it).
fn collect_at(base: &Path, format: &str) -> (String, String) {
    let name = base.display();
    let out = Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args([
            "collect",
            "--once",
            "--format",
            format,
            "--kubelet-url",
            "off",
            "--cgroup-root",
        ])
        .arg(base.join("sys/fs/cgroup"))
        .arg("--proc-root")
        .arg(base.join("proc"))
        .env_remove("NODE_NAME")
        .env("NO_COLOR", "1")
        .output()
        .expect("run crashwatch");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "collect failed on {name}: {stderr}");
    (String::from_utf8(out.stdout).expect("utf-8 stdout"), stderr)
}

fn json(name: &str) -> (Value, String) {
    let (out, err) = collect(name, "json");
    (
        serde_json::from_str(&out).expect("collect prints one JSON document"),
        err,
    )
}

/// Check every container of `snap` against `want`, in order (sorted by cgroup path).
fn check(name: &str, snap: &Value, want: &[Want]) {
    let cs = snap["containers"].as_array().expect("containers array");
    let got_ids: Vec<&str> = cs
        .iter()
        .map(|c| c["container_id"].as_str().unwrap_or("?"))
        .collect();
    let want_ids: Vec<&str> = want.iter().map(|w| w.id).collect();
    assert_eq!(
        got_ids, want_ids,
        "{name}: containers (pause included, conmon and system noise excluded)"
    );
    for (c, w) in cs.iter().zip(want) {
        let ctx = format!("{name} {}", w.id);
        assert_eq!(c["namespace"], "", "{ctx}");
        assert_eq!(c["pod"], w.uid, "{ctx}");
        assert_eq!(c["pod_uid"], w.uid, "{ctx}");
        assert_eq!(c["container"], &w.id[..12], "{ctx}");
        assert_eq!(c["id"], format!("/{}/{}", w.uid, &w.id[..12]), "{ctx}");
        assert_eq!(c["qos"], w.qos, "{ctx}");
        assert!(c["cgroup"].as_str().unwrap_or("").contains(w.id), "{ctx}");
        assert!(
            !c["cgroup"].as_str().unwrap_or("/").starts_with('/'),
            "{ctx}"
        );
        assert_eq!(
            c["memory_usage_bytes"].as_u64(),
            Some(w.usage),
            "{ctx} usage"
        );
        assert_eq!(
            c["memory_working_set_bytes"].as_u64(),
            w.ws,
            "{ctx} working set"
        );
        assert_eq!(c["memory_limit_bytes"].as_u64(), w.limit, "{ctx} limit");
        assert_eq!(
            c["oom_kills_total"].as_u64(),
            w.oom_kills,
            "{ctx} oom kills"
        );
        assert_eq!(
            c["pod_oom_kills_total"].as_u64(),
            w.pod_oom_kills,
            "{ctx} pod oom kills"
        );
        assert_eq!(
            c["cpu_limit_cores"].as_f64(),
            w.cpu_limit,
            "{ctx} cpu limit"
        );
        assert_eq!(c["pids_current"].as_u64(), Some(w.pids), "{ctx} pids");
        assert_eq!(c["pids_limit"].as_u64(), w.pids_limit, "{ctx} pids limit");
        assert_eq!(
            c["node_memory_total_bytes"], snap["node"]["memory_total_bytes"],
            "{ctx}"
        );
        assert_eq!(c["ts"], snap["ts"], "{ctx}");
    }
}

/// Node fields every fixture check shares.
fn check_node(snap: &Value, name: &str, mode: &str, total_kb: u64, avail_kb: u64) {
    let n = &snap["node"];
    assert_eq!(n["name"], name);
    assert_eq!(n["cgroup_mode"], mode);
    assert_eq!(n["host_mode"], false);
    assert_eq!(n["memory_total_bytes"].as_u64(), Some(total_kb * 1024));
    assert_eq!(n["memory_available_bytes"].as_u64(), Some(avail_kb * 1024));
    assert!(
        snap["ts"].as_f64().unwrap_or(0.0) > 1.7e9,
        "ts is Unix epoch seconds"
    );
}

/// The container with this ID.
fn find<'a>(snap: &'a Value, id: &str) -> &'a Value {
    snap["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["container_id"] == id))
        .expect("container present")
}

#[test]
fn v2_systemd_containerd() {
    let (snap, err) = json("v2-systemd-containerd");
    check_node(
        &snap,
        "ip-10-0-1-23.ec2.internal",
        "v2",
        16_365_472,
        9_437_184,
    );
    assert_eq!(snap["node"]["memory_pressure_some_avg10"], 0.75);
    assert_eq!(snap["node"]["memory_pressure_full_avg10"], 0.25);
    assert_eq!(snap["node"]["cpu_pressure_some_avg10"], 4.5);
    assert_eq!(snap["node"]["io_pressure_full_avg10"], 0.1);
    check("v2-systemd-containerd", &snap, V2_SYSTEMD_CONTAINERD);
    // The OOM-killed guaranteed container, every field.
    let web = find(
        &snap,
        "4b5e57f6eb2f42b9039b3d1e13929295f231749c510cbe341cd68036d9af97e2",
    );
    assert_eq!(web["memory_anon_bytes"], 259_489_792);
    assert_eq!(web["memory_file_bytes"], 6_291_456);
    assert_eq!(web["memory_swap_bytes"], 0);
    // A swapless node (SwapTotal 0): no container's swap limit is read.
    assert_eq!(web["memory_swap_limit_bytes"], Value::Null);
    assert_eq!(snap["node"]["swap_total_bytes"], 0);
    assert_eq!(web["memory_shmem_bytes"], 0);
    assert_eq!(web["memory_slab_reclaimable_bytes"], 944_640);
    assert_eq!(web["oom_events_total"], 3);
    assert_eq!(web["memory_high_events_total"], 0);
    assert_eq!(web["memory_max_events_total"], 1789);
    assert_eq!(web["memory_pressure_some_avg10"], 38.5);
    assert_eq!(web["memory_pressure_full_avg10"], 21.25);
    assert_eq!(web["cpu_usage_seconds_total"], 48_213.312987);
    assert_eq!(web["cpu_throttled_seconds_total"], 603.112);
    assert_eq!(web["cpu_throttled_periods_total"], 12_004);
    assert_eq!(web["cpu_periods_total"], 901_112);
    assert_eq!(web["cpu_pressure_some_avg10"], 3.1);
    assert_eq!(web["node_memory_available_bytes"], 9_437_184u64 * 1024);
    // The kubepods slice's limit (capacity less EKS's 893 MiB kube-reserved) less its working
    // set (1 GiB used, 200 MiB of it inactive page cache): what the kubelet's
    // allocatableMemory.available reads, on the node and on every container.
    let pods_left = 15_821_864_960u64 - (1_073_741_824 - 209_715_200);
    assert_eq!(snap["node"]["pods_memory_available_bytes"], pods_left);
    assert_eq!(web["node_allocatable_available_bytes"], pods_left);
    // The malformed memory.stat: counted, named, container still reported with what was read.
    assert!(err.contains("errors parse=1"), "{err}");
    assert!(
        err.contains("cri-containerd-e7562220aee1d6e38c5633d241fdb4c1716fb104b37b1ab2abd0b7a2254ac0b2.scope/memory.stat: inactive_file"),
        "{err}"
    );
    let shipper = find(
        &snap,
        "e7562220aee1d6e38c5633d241fdb4c1716fb104b37b1ab2abd0b7a2254ac0b2",
    );
    assert!(shipper["memory_anon_bytes"].is_null());
    assert_eq!(shipper["cpu_usage_seconds_total"], 901.223344);
}

/// Copy the tree at `from` into `to`, files and directories only.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        let kind = e.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&e.path(), &dst);
        } else if kind.is_file() {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

#[test]
fn a_task_limit_of_max_everywhere_is_unset_not_unknown() {
    // `pids_limit: null` alone may be an export that lacks pids.max, which the predictor times
    // to a conventional limit; the collector says when both the container and its pod read
    // `max`. Pod 3f6c8a52 says `max` at both levels; pod 5a7d1e93 has podPidsLimit 4096; in
    // pod 9b2e4c71 one container has its own 1024.
    let t = tempfile::tempdir().unwrap();
    copy_tree(&fixture("v2-systemd-containerd"), t.path());
    let unset = |snap: &Value| -> Vec<(String, Value, bool)> {
        let mut v: Vec<_> = snap["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let flag = c
                    .get("pids_limit_unset")
                    .cloned()
                    .unwrap_or(Value::Bool(false));
                (
                    c["pod_uid"].as_str().unwrap()[..8].to_string(),
                    c["pids_limit"].clone(),
                    flag.as_bool().expect("a boolean when written"),
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.to_string().cmp(&b.1.to_string())));
        v
    };
    let (out, err) = collect_at(t.path(), "json");
    let got = unset(&serde_json::from_str(&out).expect(&err));
    let want = |pod: &str, limit: Value, flag: bool| (pod.to_string(), limit, flag);
    assert_eq!(
        got,
        vec![
            want("3f6c8a52", Value::Null, true),
            want("3f6c8a52", Value::Null, true),
            want("5a7d1e93", 4096.into(), false),
            want("5a7d1e93", 4096.into(), false),
            want("9b2e4c71", 1024.into(), false),
            want("9b2e4c71", Value::Null, true),
            want("9b2e4c71", Value::Null, true),
        ]
    );
    // Where the limit is the pod's, so is the task count it is compared with: pod 5a7d1e93's
    // pids.current (its pause container's 1 task and its worker's 3), and only there.
    let snap: Value = serde_json::from_str(&out).expect(&err);
    let mut pod_tasks: Vec<(String, Value)> = snap["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["pod_uid"].as_str().unwrap()[..8].to_string(),
                c.get("pod_pids_current").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    pod_tasks.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.to_string().cmp(&b.1.to_string())));
    let want_tasks = |pod: &str, n: Value| (pod.to_string(), n);
    assert_eq!(
        pod_tasks,
        vec![
            want_tasks("3f6c8a52", Value::Null),
            want_tasks("3f6c8a52", Value::Null),
            want_tasks("5a7d1e93", 4.into()),
            want_tasks("5a7d1e93", 4.into()),
            want_tasks("9b2e4c71", Value::Null),
            want_tasks("9b2e4c71", Value::Null),
            want_tasks("9b2e4c71", Value::Null),
        ]
    );
    // A pod file that cannot be read leaves the limit unknown, not unset.
    let pod = t.path().join(
        "sys/fs/cgroup/kubepods.slice/kubepods-pod3f6c8a52_1b7e_4d2a_9c61_5e8f2b7d4a10.slice",
    );
    std::fs::remove_file(pod.join("pids.max")).unwrap();
    let (out, err) = collect_at(t.path(), "json");
    let got = unset(&serde_json::from_str(&out).expect(&err));
    assert_eq!(
        got[..2],
        [
            want("3f6c8a52", Value::Null, false),
            want("3f6c8a52", Value::Null, false)
        ]
    );
}

#[test]
fn a_node_with_swap_reads_each_containers_swap_limit() {
    // The v2 node, given 4 GiB of swap (LimitedSwap): one container may use 256 MiB and has
    // 100 MiB of it in use; the kubelet's NoSwap `0` stays 0 for the others.
    let t = tempfile::tempdir().unwrap();
    copy_tree(&fixture("v2-systemd-containerd"), t.path());
    let meminfo = t.path().join("proc/meminfo");
    let text = std::fs::read_to_string(&meminfo).unwrap();
    let text = text.replace("SwapTotal:             0 kB", "SwapTotal:       4194304 kB");
    assert!(text.contains("SwapTotal:       4194304 kB"));
    std::fs::write(&meminfo, text).unwrap();
    let id = "4b5e57f6eb2f42b9039b3d1e13929295f231749c510cbe341cd68036d9af97e2";
    let dir = t.path().join(format!(
        "sys/fs/cgroup/kubepods.slice/kubepods-pod3f6c8a52_1b7e_4d2a_9c61_5e8f2b7d4a10.slice/cri-containerd-{id}.scope"
    ));
    assert!(dir.is_dir(), "{}", dir.display());
    std::fs::write(dir.join("memory.swap.max"), "268435456\n").unwrap();
    std::fs::write(dir.join("memory.swap.current"), "104857600\n").unwrap();
    let (out, err) = collect_at(t.path(), "json");
    let snap: Value = serde_json::from_str(&out).expect(&err);
    assert_eq!(snap["node"]["swap_total_bytes"], 4_194_304u64 * 1024);
    let web = find(&snap, id);
    assert_eq!(web["memory_swap_limit_bytes"], 268_435_456);
    assert_eq!(web["memory_swap_bytes"], 104_857_600);
    let others: Vec<&Value> = snap["containers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["container_id"] != id)
        .collect();
    assert!(!others.is_empty());
    for c in others {
        assert_eq!(c["memory_swap_limit_bytes"], 0, "{c}");
    }
}

#[test]
fn v2_cgroupfs_k3s_nested() {
    let (snap, err) = json("v2-cgroupfs-k3s");
    check_node(&snap, "k3s-server-0", "v2", 8_148_132, 5_242_880);
    check("v2-cgroupfs-k3s", &snap, V2_CGROUPFS_K3S);
    let redis = find(
        &snap,
        "34fb46c847bb9df96e5205a39d382f648a6e8dce1e014cd85b4ca6a88d88ed03",
    );
    assert_eq!(
        redis["cgroup"],
        "kubelet/kubepods/podc1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f/34fb46c847bb9df96e5205a39d382f648a6e8dce1e014cd85b4ca6a88d88ed03"
    );
    assert_eq!(
        redis["memory_working_set_bytes"],
        redis["memory_limit_bytes"]
    );
    assert_eq!(redis["memory_pressure_full_avg10"], 40.5);
    assert!(err.contains("errors parse=1"), "{err}");
    assert!(err.contains("/cpu.max: expected `$QUOTA $PERIOD`"), "{err}");
}

#[test]
fn v1_cgroupfs_docker() {
    let (snap, err) = json("v1-cgroupfs-docker");
    check_node(&snap, "worker-docker-1", "v1", 32_780_912, 20_971_520);
    check("v1-cgroupfs-docker", &snap, V1_CGROUPFS_DOCKER);
    // Its kubepods has no limit (node allocatable not enforced on pods): no such signal.
    assert!(snap["node"]["pods_memory_available_bytes"].is_null());
    assert!(snap["containers"][0]
        .get("node_allocatable_available_bytes")
        .is_none());
    let mysql = find(
        &snap,
        "430005175c4c7810996d3481f0dbc3ec01103d6abcc5beec5db4b3f1eae35047",
    );
    assert_eq!(mysql["memory_max_events_total"], 1234);
    assert_eq!(mysql["memory_anon_bytes"], 503_316_480);
    assert_eq!(mysql["memory_file_bytes"], 33_550_336);
    assert_eq!(mysql["memory_shmem_bytes"], 0);
    assert!(mysql["memory_slab_reclaimable_bytes"].is_null());
    assert_eq!(mysql["cpu_usage_seconds_total"], 9876.54321);
    assert_eq!(mysql["cpu_throttled_seconds_total"], 77.777777);
    assert!(
        mysql["oom_events_total"].is_null(),
        "v1 has no OOM episode counter"
    );
    assert!(
        mysql["memory_pressure_some_avg10"].is_null(),
        "pure v1: no PSI per cgroup"
    );
    assert!(err.contains("errors parse=1"), "{err}");
    assert!(
        err.contains("/memory.oom_control: expected `key value`"),
        "{err}"
    );
}

#[test]
fn v1_systemd_crio_hybrid() {
    let (snap, err) = json("v1-systemd-crio");
    check_node(&snap, "crio-node-2", "hybrid", 65_843_532, 41_943_040);
    check("v1-systemd-crio", &snap, V1_SYSTEMD_CRIO);
    let pg = find(
        &snap,
        "a942b37ccfaf5a813b1432caa209a43b9d144e47ad0de1549c289c253e556cd5",
    );
    // Pressure comes from the unified/ tree on hybrid.
    assert_eq!(pg["memory_pressure_some_avg10"], 61.0);
    assert_eq!(pg["memory_pressure_full_avg10"], 44.0);
    assert_eq!(pg["cpu_pressure_some_avg10"], 8.0);
    assert_eq!(pg["cpu_throttled_seconds_total"], 900.0);
    assert!(err.contains("errors parse=1"), "{err}");
    assert!(
        err.contains("/cpu.cfs_quota_us: value: expected an unsigned integer, got \"abc\""),
        "{err}"
    );
}

#[test]
fn json_is_the_snapshot_type() {
    // Other tools read `collect` output back with the shared type: it must decode losslessly.
    for name in [
        "v2-systemd-containerd",
        "v2-cgroupfs-k3s",
        "v1-cgroupfs-docker",
        "v1-systemd-crio",
    ] {
        let (out, _) = collect(name, "json");
        let snap: crashwatch::sample::Snapshot =
            serde_json::from_str(&out).expect("decodes as Snapshot");
        assert_eq!(snap.containers.len(), 7, "{name}");
        let again = serde_json::to_string_pretty(&snap).expect("encode");
        assert_eq!(
            again.trim_end(),
            out.trim_end(),
            "{name}: re-encoding changes nothing"
        );
        let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&out)
            .expect("object")
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            keys,
            ["containers", "node", "ts"],
            "{name}: exactly ts, node, containers"
        );
    }
}

#[test]
fn table_format_lists_every_container() {
    let (out, _) = collect("v2-systemd-containerd", "table");
    assert!(
        out.starts_with("node ip-10-0-1-23.ec2.internal (cgroup v2)"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 2 + V2_SYSTEMD_CONTAINERD.len());
    assert!(
        out.contains("/3f6c8a52-1b7e-4d2a-9c61-5e8f2b7d4a10/4b5e57f6eb2f"),
        "{out}"
    );
}

#[test]
fn host_mode_tracks_limited_cgroups() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path().join("cgroup");
    std::fs::create_dir_all(root.join("system.slice/postgres.service")).expect("mkdir");
    std::fs::create_dir_all(root.join("system.slice/sshd.service")).expect("mkdir");
    std::fs::write(root.join("cgroup.controllers"), "cpu memory pids\n").expect("write");
    for (rel, max) in [
        ("system.slice", "max\n"),
        ("system.slice/postgres.service", "1073741824\n"),
        ("system.slice/sshd.service", "max\n"),
    ] {
        std::fs::write(root.join(rel).join("memory.current"), "104857600\n").expect("write");
        std::fs::write(root.join(rel).join("memory.max"), max).expect("write");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args([
            "collect",
            "--once",
            "--format",
            "json",
            "--kubelet-url",
            "off",
            "--node-name",
            "plain-host",
        ])
        .arg("--cgroup-root")
        .arg(&root)
        .arg("--proc-root")
        .arg(t.path().join("no-proc"))
        .output()
        .expect("run crashwatch");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snap: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(snap["node"]["host_mode"], true);
    assert_eq!(snap["node"]["name"], "plain-host");
    let cs = snap["containers"].as_array().expect("array");
    assert_eq!(cs.len(), 1);
    assert_eq!(cs[0]["pod"], "system.slice/postgres.service");
    assert_eq!(cs[0]["container"], "");
    assert_eq!(cs[0]["namespace"], "");
    assert_eq!(cs[0]["id"], "/system.slice/postgres.service/");
    assert_eq!(cs[0]["memory_limit_bytes"], 1_073_741_824u64);
    assert_eq!(cs[0]["memory_usage_bytes"], 104_857_600u64);
    assert!(cs[0]["qos"].is_null());
}

#[test]
fn missing_cgroup_root_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args([
            "collect",
            "--once",
            "--kubelet-url",
            "off",
            "--cgroup-root",
            "/nonexistent/cgroup",
        ])
        .args(["--proc-root", "/nonexistent/proc"])
        .output()
        .expect("run crashwatch");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no cgroup filesystem found under /nonexistent/cgroup"),
        "{err}"
    );
}

const V2_SYSTEMD_CONTAINERD: &[Want] = &[
    // pause-5a7d1e93-6c2b-4b0f-b8e4-7f3a9d2c1e56 (pause)
    Want {
        id: "5c49ad2da9194c36fdbfb8da6073aeb4d351497bb779ce31531e2dc8d4e4de6d",
        uid: "5a7d1e93-6c2b-4b0f-b8e4-7f3a9d2c1e56",
        qos: "besteffort",
        usage: 270336,
        ws: Some(270336),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(0),
        cpu_limit: None,
        pids: 1,
        pids_limit: Some(4096), // the pod cgroup's (kubelet podPidsLimit)
    },
    // worker
    Want {
        id: "87eba76e7f3164534045ba922e7770fb58bbd14ad732bbf5ba6f11cc56989e6e",
        uid: "5a7d1e93-6c2b-4b0f-b8e4-7f3a9d2c1e56",
        qos: "besteffort",
        usage: 157286400,
        ws: Some(104857600),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(0),
        cpu_limit: None,
        pids: 3,
        pids_limit: Some(4096), // the pod cgroup's (kubelet podPidsLimit)
    },
    // api
    Want {
        id: "14c2529eb4498c5d1ffd6915d05bf58a91bdda796af59f41d480d11c099d0479",
        uid: "9b2e4c71-0d3a-4f8e-8a57-2c1d6e9f0b34",
        qos: "burstable",
        usage: 524288000,
        ws: Some(419430400),
        limit: Some(1073741824),
        oom_kills: Some(0),
        pod_oom_kills: Some(1),
        cpu_limit: Some(1.5),
        pids: 37,
        pids_limit: Some(1024),
    },
    // pause-9b2e4c71-0d3a-4f8e-8a57-2c1d6e9f0b34 (pause)
    Want {
        id: "ad22b3fef27bfae328784a3e90f7ad3d911711b205fb151f396d7ee88322f576",
        uid: "9b2e4c71-0d3a-4f8e-8a57-2c1d6e9f0b34",
        qos: "burstable",
        usage: 270336,
        ws: Some(270336),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(1),
        cpu_limit: None,
        pids: 1,
        pids_limit: None,
    },
    // log-shipper — malformed memory.stat
    Want {
        id: "e7562220aee1d6e38c5633d241fdb4c1716fb104b37b1ab2abd0b7a2254ac0b2",
        uid: "9b2e4c71-0d3a-4f8e-8a57-2c1d6e9f0b34",
        qos: "burstable",
        usage: 73400320,
        ws: None,
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(1),
        cpu_limit: None,
        pids: 5,
        pids_limit: None,
    },
    // web
    Want {
        id: "4b5e57f6eb2f42b9039b3d1e13929295f231749c510cbe341cd68036d9af97e2",
        uid: "3f6c8a52-1b7e-4d2a-9c61-5e8f2b7d4a10",
        qos: "guaranteed",
        usage: 268300288,
        ws: Some(266203136),
        limit: Some(268435456),
        oom_kills: Some(2),
        pod_oom_kills: Some(2),
        cpu_limit: Some(0.5),
        pids: 14,
        pids_limit: None,
    },
    // pause-3f6c8a52-1b7e-4d2a-9c61-5e8f2b7d4a10 (pause)
    Want {
        id: "9592c311ad4822f6877879eef985e627b9d55abf16d7aec141aa384ec1d6ed22",
        uid: "3f6c8a52-1b7e-4d2a-9c61-5e8f2b7d4a10",
        qos: "guaranteed",
        usage: 270336,
        ws: Some(270336),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(2),
        cpu_limit: None,
        pids: 1,
        pids_limit: None,
    },
];
const V2_CGROUPFS_K3S: &[Want] = &[
    // debug
    Want {
        id: "0b8e9e995d8d77f1e4770f0f79665aee6f3f70247b3735422daba73df4c3096f",
        uid: "2b3c4d5e-6f70-4812-9a3b-4c5d6e7f8091",
        qos: "besteffort",
        usage: 8388608,
        ws: Some(6291456),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(0),
        cpu_limit: None,
        pids: 2,
        pids_limit: Some(64),
    },
    // pause-2b3c4d5e-6f70-4812-9a3b-4c5d6e7f8091 (pause)
    Want {
        id: "9492026bf8b76e406b2b652244ec125b82ce7daabdea8cdfcf2998a5a39bf753",
        uid: "2b3c4d5e-6f70-4812-9a3b-4c5d6e7f8091",
        qos: "besteffort",
        usage: 270336,
        ws: Some(270336),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(0),
        cpu_limit: None,
        pids: 1,
        pids_limit: None,
    },
    // metrics
    Want {
        id: "177a7ea3611fe6b138557deaf44941614b66c0ece1766308044c8b65c8ba2123",
        uid: "7e8f9a0b-1c2d-4e3f-a4b5-c6d7e8f9a0b1",
        qos: "burstable",
        usage: 31457280,
        ws: Some(30408704),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(0),
        cpu_limit: None,
        pids: 11,
        pids_limit: None,
    },
    // pause-7e8f9a0b-1c2d-4e3f-a4b5-c6d7e8f9a0b1 (pause)
    Want {
        id: "4d5b0dab35b8ef67484573f965870675c37575b52fae463f65ecc978b6d811cc",
        uid: "7e8f9a0b-1c2d-4e3f-a4b5-c6d7e8f9a0b1",
        qos: "burstable",
        usage: 270336,
        ws: Some(270336),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(0),
        cpu_limit: None,
        pids: 1,
        pids_limit: None,
    },
    // nginx — malformed cpu.max
    Want {
        id: "5be1ecc7935f1dd85635d4feedaf660594030253cc97c9e9ca3819ffeac36b65",
        uid: "7e8f9a0b-1c2d-4e3f-a4b5-c6d7e8f9a0b1",
        qos: "burstable",
        usage: 20971520,
        ws: Some(15728640),
        limit: Some(67108864),
        oom_kills: Some(0),
        pod_oom_kills: Some(0),
        cpu_limit: None,
        pids: 9,
        pids_limit: None,
    },
    // redis
    Want {
        id: "34fb46c847bb9df96e5205a39d382f648a6e8dce1e014cd85b4ca6a88d88ed03",
        uid: "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
        qos: "guaranteed",
        usage: 134217728,
        ws: Some(134217728),
        limit: Some(134217728),
        oom_kills: Some(1),
        pod_oom_kills: Some(1),
        cpu_limit: Some(0.25),
        pids: 6,
        pids_limit: None,
    },
    // pause-c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f (pause)
    Want {
        id: "6d43c31c9161180751af26b3343c33c124cfd06201612dd5fce8fe7d03f45dac",
        uid: "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
        qos: "guaranteed",
        usage: 270336,
        ws: Some(270336),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(1),
        cpu_limit: None,
        pids: 1,
        pids_limit: None,
    },
];
const V1_CGROUPFS_DOCKER: &[Want] = &[
    // pause-a9b8c7d6-e5f4-4321-8fed-cba987654321 (pause)
    Want {
        id: "9937c2a16bcf198c57a97413e00b9da200c971d5c02a22f35764097adf02e868",
        uid: "a9b8c7d6-e5f4-4321-8fed-cba987654321",
        qos: "besteffort",
        usage: 270336,
        ws: Some(270336),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(0),
        cpu_limit: None,
        pids: 1,
        pids_limit: None,
    },
    // cron — malformed memory.oom_control
    Want {
        id: "c374eea599bb3c50ed4432ef57aee1263cdc3c83d1c1a3c4d7e19eef1af8439b",
        uid: "a9b8c7d6-e5f4-4321-8fed-cba987654321",
        qos: "besteffort",
        usage: 12582912,
        ws: Some(8388608),
        limit: None,
        oom_kills: None,
        pod_oom_kills: Some(0),
        cpu_limit: None,
        pids: 2,
        pids_limit: None,
    },
    // frontend
    Want {
        id: "1cf387c012cd2d02f1923e589f86df4a4802427057dbc90f47b87f04d29d54bc",
        uid: "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        qos: "burstable",
        usage: 167772160,
        ws: Some(125829120),
        limit: Some(268435456),
        oom_kills: Some(0),
        pod_oom_kills: Some(0),
        cpu_limit: Some(0.2),
        pids: 17,
        pids_limit: Some(4096), // the pod cgroup's (kubelet podPidsLimit)
    },
    // pause-0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9 (pause)
    Want {
        id: "a2e5fbc90b0f4225a813f15af00a5aa49df487fd855b04148fe92da8e072e3e8",
        uid: "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        qos: "burstable",
        usage: 270336,
        ws: Some(270336),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(0),
        cpu_limit: None,
        pids: 1,
        pids_limit: Some(4096), // the pod cgroup's (kubelet podPidsLimit)
    },
    // unlimited-sidecar
    Want {
        id: "d7d23e3c98a9d8e0c422ee1152871fa2a77b02fa61a70ffcd769da35b006fc9e",
        uid: "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        qos: "burstable",
        usage: 41943040,
        ws: Some(33554432),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(0),
        cpu_limit: None,
        pids: 4,
        pids_limit: Some(4096), // the pod cgroup's (kubelet podPidsLimit)
    },
    // mysql
    Want {
        id: "430005175c4c7810996d3481f0dbc3ec01103d6abcc5beec5db4b3f1eae35047",
        uid: "e4f5a6b7-c8d9-4eaf-b0c1-d2e3f4a5b6c7",
        qos: "guaranteed",
        usage: 536866816,
        ws: Some(536862720),
        limit: Some(536870912),
        oom_kills: Some(4),
        pod_oom_kills: Some(0),
        cpu_limit: Some(1.0),
        pids: 41,
        pids_limit: None,
    },
    // pause-e4f5a6b7-c8d9-4eaf-b0c1-d2e3f4a5b6c7 (pause)
    Want {
        id: "75bf3f21a86af3bfc002962321be3c48da271d2b7e3032f033ac91c191f7d73e",
        uid: "e4f5a6b7-c8d9-4eaf-b0c1-d2e3f4a5b6c7",
        qos: "guaranteed",
        usage: 270336,
        ws: Some(270336),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(0),
        cpu_limit: None,
        pids: 1,
        pids_limit: None,
    },
];
const V1_SYSTEMD_CRIO: &[Want] = &[
    // pause-d4c3b2a1-0f9e-4d8c-b7a6-958473625140 (pause)
    Want {
        id: "61d81f0ba7843450918901793a4309a0e5af24d9fad66f8ee176b1e619cb2d63",
        uid: "d4c3b2a1-0f9e-4d8c-b7a6-958473625140",
        qos: "besteffort",
        usage: 270336,
        ws: Some(270336),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(0),
        cpu_limit: None,
        pids: 1,
        pids_limit: None,
    },
    // busybox
    Want {
        id: "9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91",
        uid: "d4c3b2a1-0f9e-4d8c-b7a6-958473625140",
        qos: "besteffort",
        usage: 1048576,
        ws: Some(1048576),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(0),
        cpu_limit: None,
        pids: 1,
        pids_limit: None,
    },
    // pause-b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e (pause)
    Want {
        id: "951c95aa062da4c4b9fa1ca32f9894d1980711f867a518fe0401fb99c9cf2439",
        uid: "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
        qos: "burstable",
        usage: 270336,
        ws: Some(270336),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(0),
        cpu_limit: None,
        pids: 1,
        pids_limit: None,
    },
    // istio-proxy
    Want {
        id: "b8e9c2a497daf0198e1b79d0044361efcbeb110b0e12096e96fcf46aadefd73e",
        uid: "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
        qos: "burstable",
        usage: 88080384,
        ws: Some(79691776),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(0),
        cpu_limit: None,
        pids: 21,
        pids_limit: None,
    },
    // java-app — malformed cpu.cfs_quota_us
    Want {
        id: "dc43132fc8506bc3e0509cab3ee86869c815b6b45908f00b5e4722adbb495d96",
        uid: "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
        qos: "burstable",
        usage: 629145600,
        ws: Some(545259520),
        limit: Some(805306368),
        oom_kills: Some(0),
        pod_oom_kills: Some(0),
        cpu_limit: None,
        pids: 88,
        pids_limit: None,
    },
    // postgres
    Want {
        id: "a942b37ccfaf5a813b1432caa209a43b9d144e47ad0de1549c289c253e556cd5",
        uid: "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d",
        qos: "guaranteed",
        usage: 2147221504,
        ws: Some(2146172928),
        limit: Some(2147483648),
        oom_kills: Some(1),
        pod_oom_kills: Some(1),
        cpu_limit: Some(2.0),
        pids: 23,
        pids_limit: None,
    },
    // pause-6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d (pause)
    Want {
        id: "f4871af946103e523b4a681b6412b9e4594c886ed0971c97c4cf7211a623dfc5",
        uid: "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d",
        qos: "guaranteed",
        usage: 270336,
        ws: Some(270336),
        limit: None,
        oom_kills: Some(0),
        pod_oom_kills: Some(1),
        cpu_limit: None,
        pids: 1,
        pids_limit: None,
    },
];
