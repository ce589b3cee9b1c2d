//! Discover the cgroup mode (v2 / v1 / hybrid), the kubepods hierarchy and every container
//! cgroup in it (systemd and cgroupfs drivers), or host mode. (Issue 3.)
//!
//! How the modes are told apart: cgroup v2 has `cgroup.controllers` at its root. v1 has one
//! directory per controller (`memory/`, `cpu,cpuacct/` with `cpu`/`cpuacct` symlinks, or
//! separate `cpu/` and `cpuacct/`, `pids/`). Hybrid is v1 plus a v2 tree at `unified/`
//! that carries no controllers but does carry the pressure files.
//!
//! Where kubepods sits: at the root on a plain node (`kubepods.slice` / `kubepods`), or
//! nested: `kubelet.slice/kubelet-kubepods.slice` (kubelet `--cgroup-root`), or
//! `docker/<id>/kubelet/kubepods` (kind on v1 seen from the host). A bounded breadth-first
//! search finds each one; the collector caches the result.
//!
//! Must not: read any metric file, or decide which containers are pause/sandbox containers
//! (the path cannot tell; the kube module drops them using the kubelet's list).
use crate::sample::Qos;
use crate::{Error, Result};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

/// Deepest level at which a kubepods hierarchy is looked for (`docker/<id>/kubelet/kubepods` is 4).
const KUBEPODS_MAX_DEPTH: usize = 6;
/// Deepest level walked in host mode.
const HOST_MAX_DEPTH: usize = 8;
/// Upper bound on directories visited by one search, so a node with a huge unrelated
/// hierarchy cannot make a sweep slow.
const MAX_VISITED: usize = 20_000;

/// The cgroup filesystem flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Unified hierarchy only.
    V2,
    /// Legacy per-controller hierarchies only.
    V1,
    /// v1 controllers plus a controller-less v2 tree at `unified/`.
    Hybrid,
}

impl Mode {
    /// `v2`, `v1` or `hybrid` (as in `NodeSample.cgroup_mode`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::V2 => "v2",
            Mode::V1 => "v1",
            Mode::Hybrid => "hybrid",
        }
    }
}

/// Where each controller's files live. On v2 every path is the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The flavour.
    pub mode: Mode,
    /// The `--cgroup-root`.
    pub root: PathBuf,
    /// Memory controller hierarchy (paths in `ContainerMeta.cgroup` are relative to it).
    pub memory: PathBuf,
    /// cpu controller (cpu.max / cpu.cfs_quota_us, cpu.stat).
    pub cpu: PathBuf,
    /// cpuacct controller (v1 cpuacct.usage); the root on v2.
    pub cpuacct: PathBuf,
    /// pids controller.
    pub pids: PathBuf,
    /// The v2 tree (pressure files): the root on v2, `unified/` on hybrid, `None` on pure v1.
    pub unified: Option<PathBuf>,
}

/// Detect the mode under `root`.
pub fn detect(root: &Path) -> Result<Layout> {
    if root.join("cgroup.controllers").is_file() {
        return Ok(Layout {
            mode: Mode::V2,
            root: root.to_path_buf(),
            memory: root.to_path_buf(),
            cpu: root.to_path_buf(),
            cpuacct: root.to_path_buf(),
            pids: root.to_path_buf(),
            unified: Some(root.to_path_buf()),
        });
    }
    let memory = root.join("memory");
    if !memory.is_dir() {
        return Err(Error::parse(
            root,
            "no cgroup filesystem here: neither cgroup.controllers (v2) nor memory/ (v1)",
        ));
    }
    let first_dir = |names: &[&str]| {
        names
            .iter()
            .map(|n| root.join(n))
            .find(|p| p.is_dir())
            .unwrap_or_else(|| root.join(names[0]))
    };
    let unified = root.join("unified");
    let unified = unified
        .join("cgroup.controllers")
        .is_file()
        .then_some(unified);
    Ok(Layout {
        mode: if unified.is_some() {
            Mode::Hybrid
        } else {
            Mode::V1
        },
        root: root.to_path_buf(),
        memory,
        cpu: first_dir(&["cpu", "cpu,cpuacct", "cpuacct,cpu"]),
        cpuacct: first_dir(&["cpuacct", "cpu,cpuacct", "cpuacct,cpu"]),
        pids: first_dir(&["pids"]),
        unified,
    })
}

/// A cgroup to sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Path relative to the memory hierarchy, `/`-separated, no leading `/`.
    pub rel: String,
    /// The pod cgroup's relative path (for pod-level `memory.events`); `None` in host mode.
    pub pod_rel: Option<String>,
    /// Pod UID with dashes.
    pub pod_uid: Option<String>,
    /// Full container ID (64 hex).
    pub container_id: Option<String>,
    /// QoS class from the path.
    pub qos: Option<Qos>,
}

/// Is `name` the top of a kubepods hierarchy (`kubepods`, `kubepods.slice`,
/// `kubelet-kubepods.slice`)?
pub fn is_kubepods_dir(name: &str) -> bool {
    name == "kubepods" || name == "kubepods.slice" || name.ends_with("-kubepods.slice")
}

/// QoS of a class directory: `burstable`, `kubepods-burstable.slice`, ... (guaranteed pods
/// have no class directory).
pub fn parse_qos_dir(name: &str) -> Option<Qos> {
    let class = match name.strip_suffix(".slice") {
        Some(s) => s.rsplit('-').next()?,
        None => name,
    };
    match class {
        "burstable" => Some(Qos::Burstable),
        "besteffort" => Some(Qos::Besteffort),
        _ => None,
    }
}

/// Pod UID of a pod directory: `pod<uid>` (cgroupfs) or `…-pod<uid_with_underscores>.slice`
/// (systemd). Returned with dashes.
pub fn parse_pod_dir(name: &str) -> Option<String> {
    let raw = match name.strip_suffix(".slice") {
        Some(s) => s.rsplit_once("-pod")?.1,
        None => name.strip_prefix("pod")?,
    };
    // UIDs are 36-char UUIDs; static (mirror) pods use a 32-hex hash.
    let ok = (32..=36).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'_');
    ok.then(|| raw.replace('_', "-"))
}

/// Container ID of a container directory: `<64 hex>` (cgroupfs) or
/// `<runtime>-<64 hex>.scope` (systemd: `cri-containerd-`, `crio-`, `docker-`, ...).
/// `crio-conmon-<id>.scope` (CRI-O's monitor process) is not a container.
pub fn parse_container_dir(name: &str) -> Option<String> {
    let id = match name.strip_suffix(".scope") {
        Some(s) => {
            if s.starts_with("crio-conmon-") {
                return None;
            }
            s.rsplit_once('-')?.1
        }
        None => name,
    };
    (id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_ascii_lowercase())
}

/// Subdirectory names of `dir`, sorted (missing or unreadable dir → empty).
fn subdirs(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    out.sort_unstable();
    out
}

/// Join a relative cgroup path and a child name.
fn join_rel(rel: &str, name: &str) -> String {
    if rel.is_empty() {
        name.to_string()
    } else {
        format!("{rel}/{name}")
    }
}

/// Every kubepods hierarchy under `hierarchy` (relative paths), breadth-first, bounded.
pub fn find_kubepods(hierarchy: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut queue = VecDeque::from([(String::new(), 0usize)]);
    let mut visited = 0;
    while let Some((rel, depth)) = queue.pop_front() {
        visited += 1;
        if visited > MAX_VISITED {
            break;
        }
        for name in subdirs(&hierarchy.join(&rel)) {
            let child = join_rel(&rel, &name);
            if is_kubepods_dir(&name) {
                found.push(child);
            } else if depth + 1 < KUBEPODS_MAX_DEPTH {
                queue.push_back((child, depth + 1));
            }
        }
    }
    found.sort();
    found
}

/// Every container cgroup under the kubepods directory `kubepods` (relative to
/// `hierarchy`): `<qos>/<pod>/<container>` and, for guaranteed pods, `<pod>/<container>`.
pub fn list_containers(hierarchy: &Path, kubepods: &str, out: &mut Vec<Target>) {
    for name in subdirs(&hierarchy.join(kubepods)) {
        let rel = join_rel(kubepods, &name);
        if let Some(qos) = parse_qos_dir(&name) {
            for pod in subdirs(&hierarchy.join(&rel)) {
                if let Some(uid) = parse_pod_dir(&pod) {
                    list_pod(hierarchy, &join_rel(&rel, &pod), uid, qos, out);
                }
            }
        } else if let Some(uid) = parse_pod_dir(&name) {
            list_pod(hierarchy, &rel, uid, Qos::Guaranteed, out);
        }
    }
}

/// The containers of one pod directory.
fn list_pod(hierarchy: &Path, pod_rel: &str, uid: String, qos: Qos, out: &mut Vec<Target>) {
    for name in subdirs(&hierarchy.join(pod_rel)) {
        if let Some(id) = parse_container_dir(&name) {
            out.push(Target {
                rel: join_rel(pod_rel, &name),
                pod_rel: Some(pod_rel.to_string()),
                pod_uid: Some(uid.clone()),
                container_id: Some(id),
                qos: Some(qos),
            });
        }
    }
}

/// Every cgroup below `hierarchy` (not the root itself), depth-first, bounded; for host mode.
pub fn list_all(hierarchy: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), 0usize)];
    while let Some((rel, depth)) = stack.pop() {
        if out.len() >= MAX_VISITED {
            break;
        }
        for name in subdirs(&hierarchy.join(&rel)) {
            let child = join_rel(&rel, &name);
            if depth + 1 < HOST_MAX_DEPTH {
                stack.push((child.clone(), depth + 1));
            }
            out.push(child);
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "a51a9f7d073f848e7fc59e56e8f11524f330a2175a4ed26327da2dfe0d28015e";

    #[test]
    fn systemd_names() {
        assert_eq!(
            parse_qos_dir("kubepods-burstable.slice"),
            Some(Qos::Burstable)
        );
        assert_eq!(
            parse_qos_dir("kubepods-besteffort.slice"),
            Some(Qos::Besteffort)
        );
        assert_eq!(
            parse_qos_dir("kubelet-kubepods-besteffort.slice"),
            Some(Qos::Besteffort)
        );
        assert_eq!(
            parse_qos_dir("kubepods-pod562c01d6_6aba_49fe_ae52_61c40c04eca4.slice"),
            None
        );
        assert_eq!(
            parse_pod_dir("kubepods-burstable-pod562c01d6_6aba_49fe_ae52_61c40c04eca4.slice")
                .as_deref(),
            Some("562c01d6-6aba-49fe-ae52-61c40c04eca4")
        );
        assert_eq!(
            parse_pod_dir("kubepods-pod562c01d6_6aba_49fe_ae52_61c40c04eca4.slice").as_deref(),
            Some("562c01d6-6aba-49fe-ae52-61c40c04eca4")
        );
        assert_eq!(parse_pod_dir("kubepods-burstable.slice"), None);
        for prefix in ["cri-containerd-", "crio-", "docker-"] {
            assert_eq!(
                parse_container_dir(&format!("{prefix}{ID}.scope")).as_deref(),
                Some(ID)
            );
        }
        assert_eq!(
            parse_container_dir(&format!("crio-conmon-{ID}.scope")),
            None
        );
        assert_eq!(parse_container_dir("init.scope"), None);
    }

    #[test]
    fn cgroupfs_names() {
        assert_eq!(parse_qos_dir("burstable"), Some(Qos::Burstable));
        assert_eq!(parse_qos_dir("besteffort"), Some(Qos::Besteffort));
        assert_eq!(
            parse_pod_dir("pod15513b48-e7a5-48fc-b9e3-92f713f36504").as_deref(),
            Some("15513b48-e7a5-48fc-b9e3-92f713f36504")
        );
        // Static pod: 32-hex UID.
        assert_eq!(
            parse_pod_dir("pod6d2fd1f0cc3e4cbb8b0b5e1f2e3c4a5b").as_deref(),
            Some("6d2fd1f0cc3e4cbb8b0b5e1f2e3c4a5b")
        );
        assert_eq!(parse_pod_dir("podcast"), None);
        assert_eq!(parse_container_dir(ID).as_deref(), Some(ID));
        assert_eq!(parse_container_dir(&ID[1..]), None);
        assert!(
            is_kubepods_dir("kubepods")
                && is_kubepods_dir("kubepods.slice")
                && is_kubepods_dir("kubelet-kubepods.slice")
        );
        assert!(!is_kubepods_dir("kubepods-burstable.slice"));
    }

    #[test]
    fn finds_nested_kubepods_and_containers() {
        let t = tempfile::tempdir().unwrap();
        let mem = t.path();
        let pod = "docker/88ea268ece65a02d68b169fd74bcbcb427eb7f28900db0e3b906fb2eeb7341df/kubelet/kubepods/burstable/poda5ea884f-9e60-4912-bd62-fef9a31db47a";
        std::fs::create_dir_all(mem.join(pod).join(ID)).unwrap();
        std::fs::create_dir_all(mem.join("system.slice/containerd.service")).unwrap();
        let kp = find_kubepods(mem);
        assert_eq!(kp, vec!["docker/88ea268ece65a02d68b169fd74bcbcb427eb7f28900db0e3b906fb2eeb7341df/kubelet/kubepods".to_string()]);
        let mut out = Vec::new();
        list_containers(mem, &kp[0], &mut out);
        assert_eq!(
            out,
            vec![Target {
                rel: format!("{pod}/{ID}"),
                pod_rel: Some(pod.to_string()),
                pod_uid: Some("a5ea884f-9e60-4912-bd62-fef9a31db47a".into()),
                container_id: Some(ID.into()),
                qos: Some(Qos::Burstable),
            }]
        );
    }

    proptest::proptest! {
        #[test]
        fn path_parsers_never_panic(name in "\\PC{0,90}") {
            let _ = (parse_qos_dir(&name), parse_pod_dir(&name), parse_container_dir(&name), is_kubepods_dir(&name));
        }

        #[test]
        fn systemd_pod_uids_round_trip(a in "[0-9a-f]{8}", b in "[0-9a-f]{4}", c in "[0-9a-f]{12}") {
            let uid = format!("{a}-{b}-{b}-{b}-{c}");
            let dir = format!("kubepods-besteffort-pod{}.slice", uid.replace('-', "_"));
            proptest::prop_assert_eq!(parse_pod_dir(&dir), Some(uid));
        }
    }

    #[test]
    fn detects_modes() {
        let t = tempfile::tempdir().unwrap();
        assert!(detect(t.path()).is_err());
        std::fs::create_dir_all(t.path().join("memory")).unwrap();
        std::fs::create_dir_all(t.path().join("cpu,cpuacct")).unwrap();
        let l = detect(t.path()).unwrap();
        assert_eq!(
            (l.mode, l.cpu.clone(), l.cpuacct.clone()),
            (
                Mode::V1,
                t.path().join("cpu,cpuacct"),
                t.path().join("cpu,cpuacct")
            )
        );
        // Separate cpu/ and cpuacct/ hierarchies (as on this project's build VM) win over the
        // co-mounted one.
        std::fs::create_dir_all(t.path().join("cpu")).unwrap();
        std::fs::create_dir_all(t.path().join("cpuacct")).unwrap();
        let l = detect(t.path()).unwrap();
        assert_eq!(
            (l.cpu, l.cpuacct),
            (t.path().join("cpu"), t.path().join("cpuacct"))
        );
        std::fs::create_dir_all(t.path().join("unified")).unwrap();
        std::fs::write(t.path().join("unified/cgroup.controllers"), "").unwrap();
        assert_eq!(detect(t.path()).unwrap().mode, Mode::Hybrid);
        std::fs::write(t.path().join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        assert_eq!(detect(t.path()).unwrap().mode, Mode::V2);
    }
}
