//! Every kernel-file parser on the same input: no panic, and every error names its file.
#![no_main]
use crashwatch::cgroup::{v1, v2, KernelFile};
use libfuzzer_sys::fuzz_target;

fn one<T: KernelFile>(s: &str) {
    if let Err(e) = T::parse(s) {
        let msg = e.to_string();
        assert!(msg.starts_with(T::NAME), "{} error without the file name: {msg}", T::NAME);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    one::<v2::MemoryCurrent>(s);
    one::<v2::MemoryMax>(s);
    one::<v2::MemoryHigh>(s);
    one::<v2::MemoryStat>(s);
    one::<v2::MemoryEvents>(s);
    one::<v2::MemorySwapCurrent>(s);
    one::<v2::MemoryPressure>(s);
    one::<v2::CpuStat>(s);
    one::<v2::CpuMax>(s);
    one::<v2::CpuPressure>(s);
    one::<v2::PidsCurrent>(s);
    one::<v2::PidsMax>(s);
    one::<v1::MemoryUsageInBytes>(s);
    one::<v1::MemoryLimitInBytes>(s);
    one::<v1::MemoryStat>(s);
    one::<v1::MemoryOomControl>(s);
    one::<v1::MemoryFailcnt>(s);
    one::<v1::CpuacctUsage>(s);
    one::<v1::CpuCfsQuotaUs>(s);
    one::<v1::CpuCfsPeriodUs>(s);
    one::<v1::CpuStat>(s);
});
