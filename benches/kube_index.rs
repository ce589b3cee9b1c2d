//! Cost of naming containers: decoding a kubelet `/pods` PodList into a `PodIndex`, and
//! applying the index to a sweep. Inputs: the verbatim 1.32 capture (23 pods, 115 KB) and
//! a 250-pod list made from it (the kubelet's default max-pods is 110; 250 is the upper
//! end people configure).
use crashwatch::kube::pods::PodIndex;
use crashwatch::sample::{ContainerMeta, ContainerSample, Sample, Snapshot};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::Instant;

fn capture() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/kubelet/pods_k8s_1_32.json");
    std::fs::read_to_string(path).expect("fixture")
}

/// 250 pods: the capture's pods repeated with fresh UIDs and container IDs.
fn big_list() -> (String, Vec<(String, String)>) {
    let mut list: serde_json::Value = serde_json::from_str(&capture()).expect("json");
    let items = list["items"].as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    let mut ids = Vec::new();
    for i in 0..250usize {
        let mut p = items[i % items.len()].clone();
        let uid = format!("00000000-0000-4000-8000-{i:012x}");
        p["metadata"]["uid"] = uid.clone().into();
        if let Some(cs) = p["status"]["containerStatuses"].as_array_mut() {
            for (j, c) in cs.iter_mut().enumerate() {
                let id = format!("{:056x}{:08x}", i, j);
                c["containerID"] = format!("containerd://{id}").into();
                ids.push((uid.clone(), id));
            }
        }
        out.push(p);
    }
    list["items"] = out.into();
    (list.to_string(), ids)
}

fn snapshot(ids: &[(String, String)]) -> Snapshot {
    let containers = ids
        .iter()
        .map(|(uid, id)| ContainerSample {
            meta: ContainerMeta {
                pod: uid.clone(),
                pod_uid: Some(uid.clone()),
                container: id[..12].to_string(),
                container_id: Some(id.clone()),
                ..Default::default()
            },
            sample: Sample {
                id: format!("/{uid}/{}", &id[..12]),
                ..Default::default()
            },
        })
        .collect();
    Snapshot {
        containers,
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let small = capture();
    let (big, ids) = big_list();
    println!(
        "inputs: capture {} bytes / 23 pods; synthetic {} bytes / 250 pods",
        small.len(),
        big.len()
    );
    for (name, text) in [
        ("decode+index 23 pods (1.32 capture)", &small),
        ("decode+index 250 pods", &big),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                let list: k8s_openapi::List<k8s_openapi::api::core::v1::Pod> =
                    serde_json::from_str(black_box(text)).expect("decode");
                PodIndex::from_pods(&list.items, Instant::now(), "kubelet")
            })
        });
    }
    let list: k8s_openapi::List<k8s_openapi::api::core::v1::Pod> =
        serde_json::from_str(&big).expect("decode");
    let index = PodIndex::from_pods(&list.items, Instant::now(), "kubelet");
    let snap = snapshot(&ids);
    c.bench_function("apply index to a 250-container sweep", |b| {
        b.iter(|| {
            let mut s = snap.clone();
            index.apply(&mut s, |_| true)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
