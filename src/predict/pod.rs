//! Pod: the tasks of a container's whole pod (`pod_tasks`), which count toward a pod-level task
//! limit where the samples state none, summed over the pod's other containers seen within
//! [`SIBLING_FRESH_S`]. Apart because it reads the siblings' histories before the sample is
//! taken in.
use super::Predictor;
use crate::sample::{pod_of, Sample};

/// How recent a sample of a pod's other container must be for its tasks to count toward the
/// pod's (`Predictor::pod_tasks`): two of the sparsest scrapes; older, it has gone.
pub const SIBLING_FRESH_S: f64 = 120.0;

impl Predictor {
    /// Tasks of the sample's whole pod, where its samples state no task limit and the pod's
    /// other containers have been seen within [`SIBLING_FRESH_S`]: such a limit, where there
    /// is one, is the pod cgroup's (the kubelet's podPidsLimit; a container's own pids.max is
    /// set by no pod spec), and every task of the pod counts against it. `None` where the
    /// sample states a limit or the pod's count, has no task count, or has no such siblings
    /// (asked only then: a walk of the pod's containers per sample).
    pub(super) fn pod_tasks(&self, s: &Sample) -> Option<u64> {
        if s.pids_limit.is_some() || s.pids_limit_unset || s.pod_pids_current.is_some() {
            return None;
        }
        let own = s.pids_current?;
        // A limit earlier samples stated, missing from this one, is a gap (`fill_limits`).
        if self
            .states
            .get(&s.id)
            .is_some_and(|st| st.stated.pids.is_some())
        {
            return None;
        }
        let pod = pod_of(&s.id)?;
        let others: u64 = self
            .pods
            .get(pod)?
            .iter()
            .filter(|id| **id != s.id)
            .filter_map(|id| self.states.get(id)?.hist.back(0))
            .filter(|b| b.t_last >= s.ts - SIBLING_FRESH_S && b.last.pids.is_finite())
            .map(|b| b.last.pids as u64)
            .fold(0, u64::saturating_add);
        (others > 0).then_some(own.saturating_add(others))
    }
}
