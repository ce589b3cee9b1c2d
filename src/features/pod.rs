//! Pod: what a container's `namespace/pod/container` id (and the kubelet's priority) says of
//! its pod: a critical pod the kubelet never evicts, a CronJob's run. Plain string rules with
//! no history: `extract` leaves both flags false, and its callers fill them (`predict` parses
//! the CronJob name once per container).
use crate::sample::CRITICAL_PRIORITY;

/// Whether the pod of a sample (its `namespace/pod/container` id and, where the kubelet gave
/// it, its priority) is a critical pod, which the kubelet's eviction manager skips: priority
/// [`CRITICAL_PRIORITY`] or above (`system-cluster-critical`, `system-node-critical`). Without
/// the priority (a trace, a `POST /predict` body) a pod in `kube-system` counts as one:
/// admission allows those classes there only, and the node daemons that run there
/// (kube-proxy, the CNI agent, CSI node plugins, CoreDNS) use them. Such a pod can still be
/// OOM-killed, starved or crash-loop.
pub fn critical_pod(id: &str, priority: Option<i32>) -> bool {
    priority.map_or_else(
        || id.starts_with("kube-system/"),
        |p| p >= CRITICAL_PRIORITY,
    )
}

/// Whether the pod of a `namespace/pod/container` id is a CronJob's run: the Job controller
/// names it `<cronjob>-<scheduled minute since the epoch, 8 digits>-<5 random characters>`.
/// Such a pod runs a batch task to its end and, as a rule, has no liveness probe: one pinned at
/// its CPU quota runs longer, and nothing kills it for that.
pub fn cronjob_pod(id: &str) -> bool {
    let mut parts = id.split('/');
    let pod = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(pod), Some(_), None) => pod,
        _ => return false,
    };
    let mut tail = pod.rsplitn(3, '-');
    let (Some(suffix), Some(minute), Some(name)) = (tail.next(), tail.next(), tail.next()) else {
        return false;
    };
    !name.is_empty()
        && suffix.len() == 5
        && suffix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && minute.len() == 8
        && minute.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_critical_pod_is_told_by_its_priority_else_by_kube_system() {
        assert!(critical_pod(
            "kube-system/kube-proxy-x2x7b/kube-proxy",
            None
        ));
        assert!(!critical_pod("default/kube-proxy-x2x7b/kube-proxy", None));
        // The kubelet's word wins where it gave one: minikube's storage-provisioner runs in
        // kube-system without a PriorityClass.
        assert!(!critical_pod(
            "kube-system/storage-provisioner/storage-provisioner",
            Some(0)
        ));
        assert!(critical_pod(
            "monitoring/node-agent-5k2x9/agent",
            Some(2_000_001_000)
        ));
        assert!(critical_pod(
            "kube-system/coredns-668d6bf9bc-psw5k/coredns",
            Some(CRITICAL_PRIORITY)
        ));
    }

    #[test]
    fn a_cronjob_run_is_told_by_its_pod_name() {
        assert!(cronjob_pod("batch/report-28765440-t27bv/report"));
        assert!(cronjob_pod("ml/nightly-train-job-29001234-x9z8q/trainer"));
        // A Deployment's pod (a 10-character template hash), a StatefulSet's, a bare Job's,
        // a scheduled minute of the wrong width, capitals, and ids that are no pod's.
        for id in [
            "web/api-7d9f8c6b5d-x2k4q/app",
            "db/postgres-0/postgres",
            "batch/migrate-x2k4q/migrate",
            "batch/report-2876544-t27bv/report",
            "batch/report-28765440-T27BV/report",
            "batch/28765440-t27bv/report",
            "report-28765440-t27bv",
            "a/report-28765440-t27bv/b/c",
        ] {
            assert!(!cronjob_pod(id), "{id}");
        }
    }
}
