//! Limits: the memory, CPU and task limits, the QoS class, the pod priority and the memory
//! request a sample lacks, carried from earlier samples of the same container
//! ([`fill_limits`]). Apart because it mends the input before anything reads it: a sample of a
//! limited container without its limit is a gap in that series, not an unlimited container.
use crate::sample::{Qos, Sample};

/// The sample with the memory, CPU and task limits, the QoS class and the pod priority of
/// earlier samples where it lacks them (`None` when it has them or none were ever reported),
/// and `stated` updated. A limit cannot be removed from a running container (a pod spec change
/// recreates it), so a sample of a limited container without one is a gap in that series, not
/// an unlimited container: taken at its word it made a Burstable pod an eviction candidate for
/// one sample. The QoS class, the priority and the memory request are the pod's for its whole
/// life (a resize never changes the class); a trace or a collector may state them once, in a
/// container's first sample, and a Guaranteed pod read as unknown is one the kubelet might
/// evict, a request read as unknown one whose place in the eviction order is lost.
pub(super) fn fill_limits(stated: &mut Stated, s: &Sample) -> Option<Sample> {
    let now = Stated {
        memory: s.memory_limit_bytes.or(stated.memory),
        cpu: s.cpu_limit_cores.or(stated.cpu),
        pids: s.pids_limit.or(stated.pids),
        qos: s.qos.or(stated.qos),
        priority: s.pod_priority.or(stated.priority),
        request: s.memory_request_bytes.or(stated.request),
    };
    *stated = now;
    let given = Stated {
        memory: s.memory_limit_bytes,
        cpu: s.cpu_limit_cores,
        pids: s.pids_limit,
        qos: s.qos,
        priority: s.pod_priority,
        request: s.memory_request_bytes,
    };
    (now != given).then(|| Sample {
        memory_limit_bytes: now.memory,
        cpu_limit_cores: now.cpu,
        pids_limit: now.pids,
        qos: now.qos,
        pod_priority: now.priority,
        memory_request_bytes: now.request,
        ..s.clone()
    })
}

/// What the samples of a container last stated of its limits and its pod (see
/// [`fill_limits`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Stated {
    memory: Option<u64>,
    cpu: Option<f64>,
    pub(super) pids: Option<u64>,
    qos: Option<Qos>,
    priority: Option<i32>,
    request: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_without_the_limits_of_a_limited_container_keeps_them() {
        let mut stated = Stated::default();
        let mut s = Sample {
            ts: 0.0,
            id: "a/b/c".into(),
            memory_limit_bytes: Some(512),
            cpu_limit_cores: Some(0.5),
            pids_limit: Some(1024),
            ..Default::default()
        };
        assert!(fill_limits(&mut stated, &s).is_none());
        (s.memory_limit_bytes, s.cpu_limit_cores, s.pids_limit) = (None, None, None);
        let filled = fill_limits(&mut stated, &s);
        assert_eq!(
            filled.map(|f| (f.memory_limit_bytes, f.cpu_limit_cores, f.pids_limit)),
            Some((Some(512), Some(0.5), Some(1024)))
        );
        // A container without limits never reported one: nothing to fill.
        let mut none = Stated::default();
        assert!(fill_limits(&mut none, &s).is_none());
        assert_eq!(none, Stated::default());
    }

    #[test]
    fn the_qos_class_priority_and_request_stated_once_hold_for_the_pods_life() {
        let mut stated = Stated::default();
        let first = Sample {
            ts: 0.0,
            id: "a/b/c".into(),
            qos: Some(Qos::Guaranteed),
            pod_priority: Some(1000),
            memory_request_bytes: Some(512 << 20),
            ..Default::default()
        };
        assert!(fill_limits(&mut stated, &first).is_none());
        let later = Sample {
            ts: 10.0,
            id: "a/b/c".into(),
            ..Default::default()
        };
        let pod = |f: Sample| (f.qos, f.pod_priority, f.memory_request_bytes);
        let filled = fill_limits(&mut stated, &later).map(pod);
        assert_eq!(
            filled,
            Some((Some(Qos::Guaranteed), Some(1000), Some(512 << 20)))
        );
        // A class a sample states wins over the one carried.
        let restated = Sample {
            qos: Some(Qos::Burstable),
            ..later
        };
        let filled = fill_limits(&mut stated, &restated).map(pod);
        assert_eq!(
            filled,
            Some((Some(Qos::Burstable), Some(1000), Some(512 << 20)))
        );
    }
}
