//! The kubelet decoders: `/pods` (then indexed as the agent does) and `/stats/summary`.
#![no_main]
use crashwatch::kube::kubelet::{parse_pods, parse_summary_available};
use crashwatch::kube::pods::PodIndex;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_summary_available(data);
    match parse_pods(data) {
        Ok(pods) => {
            let index = PodIndex::from_pods(&pods, std::time::Instant::now(), "kubelet");
            let _ = index.lookup("0123456789abcdef", Some("uid"));
        }
        Err(e) => assert!(e.to_string().contains("/pods: "), "{e}"),
    }
});
