//! Shipping checks for `daemonset/`, the alerts, the Grafana dashboard and the Dockerfile,
//! run offline with the ecosystem's own tools: kustomize (`kubectl kustomize`, or
//! `scripts/kustomize-render.py` where kubectl is missing), `kubernetes-validate`,
//! `yamllint`, `promtool` and `hadolint`.
//!
//! A check whose tool is missing prints why and passes as skipped, unless
//! `CRASHWATCH_REQUIRE_TOOLS=1` (set by `.ci/run`), where a missing tool fails the test.
//! This file must not edit any manifest: it only renders, parses and checks them.
use clap::Parser;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Every metric name the agent exports (interface.md); the dashboard and the rules may use
/// no other `crashwatch_*` name.
const METRICS: &[&str] = &[
    "crashwatch_crash_risk",
    "crashwatch_time_to_oom_seconds",
    "crashwatch_memory_working_set_bytes",
    "crashwatch_memory_limit_bytes",
    "crashwatch_crash_predicted",
    "crashwatch_containers",
    "crashwatch_collect_duration_seconds_bucket",
    "crashwatch_collect_duration_seconds_sum",
    "crashwatch_collect_duration_seconds_count",
    "crashwatch_collect_errors_total",
    "crashwatch_predictions_total",
    "crashwatch_build_info",
    "crashwatch_last_sweep_timestamp_seconds",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn require_tools() -> bool {
    std::env::var("CRASHWATCH_REQUIRE_TOOLS").as_deref() == Ok("1")
}

/// Skip (or, under `CRASHWATCH_REQUIRE_TOOLS=1`, fail) because `what` is unavailable.
fn unavailable(test: &str, what: &str) {
    assert!(
        !require_tools(),
        "{test}: {what}, and CRASHWATCH_REQUIRE_TOOLS=1 (run .ci/run, which installs it)"
    );
    eprintln!("skipped {test}: {what} (set CRASHWATCH_REQUIRE_TOOLS=1 to make this fail)");
}

/// True when `cmd args` starts and exits 0 (used to probe for tools).
fn runs(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("cannot start {cmd}: {e}"))
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// Run and insist on success, showing the tool's output on failure.
fn run_ok(cmd: &str, args: &[&str]) -> String {
    let out = run(cmd, args);
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed ({}):\n{}{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout) + &text(&out.stderr)
}

fn have_pyyaml() -> bool {
    runs("python3", &["-c", "import yaml"])
}

fn have_kubectl() -> bool {
    runs("kubectl", &["version", "--client"])
}

/// The renderings we ship: `kubectl apply -k daemonset/` and the monitoring overlay.
const KUSTOMIZATIONS: &[&str] = &["daemonset", "daemonset/overlays/monitoring"];

/// Rendered objects of a kustomization as JSON (kubectl kustomize when present, else the
/// fallback renderer); `None` when neither a renderer nor PyYAML is available.
fn render(dir: &str) -> Option<Vec<Value>> {
    if !have_pyyaml() {
        return None;
    }
    let json = if have_kubectl() {
        let yaml = run_ok("kubectl", &["kustomize", dir]);
        let tmp = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(tmp.path(), yaml).expect("write rendering");
        let path = tmp.path().to_string_lossy().into_owned();
        run_ok(
            "python3",
            &["scripts/kustomize-render.py", "--parse", &path],
        )
    } else {
        run_ok("python3", &["scripts/kustomize-render.py", "--json", dir])
    };
    Some(serde_json::from_str(&json).expect("renderer printed JSON"))
}

/// Parse a YAML file into its documents (PyYAML through the helper script).
fn parse_yaml(path: &str) -> Option<Vec<Value>> {
    if !have_pyyaml() {
        return None;
    }
    let json = run_ok("python3", &["scripts/kustomize-render.py", "--parse", path]);
    Some(serde_json::from_str(&json).expect("parser printed JSON"))
}

fn find<'a>(objs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} in the rendering"))
}

fn key(o: &Value) -> String {
    format!(
        "{}/{}/{}",
        o["kind"].as_str().unwrap_or(""),
        o["metadata"]["namespace"].as_str().unwrap_or(""),
        o["metadata"]["name"].as_str().unwrap_or("")
    )
}

#[test]
fn yamllint_is_clean() {
    if !runs("yamllint", &["--version"]) {
        return unavailable("yamllint_is_clean", "yamllint is not installed");
    }
    run_ok(
        "yamllint",
        &[
            "--strict",
            "-c",
            ".yamllint.yaml",
            "daemonset",
            ".yamllint.yaml",
        ],
    );
}

#[test]
fn hadolint_is_clean() {
    if !runs("hadolint", &["--version"]) {
        return unavailable("hadolint_is_clean", "hadolint is not installed");
    }
    run_ok("hadolint", &["Dockerfile"]);
}

#[test]
fn shell_scripts_pass_shellcheck() {
    if !runs("shellcheck", &["--version"]) {
        return unavailable(
            "shell_scripts_pass_shellcheck",
            "shellcheck (Debian package shellcheck) is not installed",
        );
    }
    run_ok(
        "shellcheck",
        &[
            ".ci/run",
            "scripts/start-check",
            "scripts/gen-prometheusrule",
            "scripts/examples-on-this-host",
        ],
    );
}

/// Every rendered object and every example pod validates against the Kubernetes schemas
/// (strict: unknown fields are errors) of the version our client crates target (1.33) and
/// of the newest one kubernetes-validate knows. The prometheus-operator CRDs have no
/// schema there: they are checked structurally in `monitoring_component_is_consistent`.
#[test]
fn manifests_validate_against_kubernetes_schemas() {
    const TEST: &str = "manifests_validate_against_kubernetes_schemas";
    if !runs("kubernetes-validate", &["--version"]) {
        return unavailable(TEST, "kubernetes-validate is not installed");
    }
    let mut files: Vec<(String, tempfile::NamedTempFile)> = Vec::new();
    for dir in KUSTOMIZATIONS {
        let Some(objs) = render(dir) else {
            return unavailable(TEST, "python3 with PyYAML (for rendering) is not available");
        };
        for obj in objs {
            let tmp = tempfile::Builder::new()
                .suffix(".json")
                .tempfile()
                .expect("temp file");
            std::fs::write(tmp.path(), obj.to_string()).expect("write object");
            files.push((format!("{dir}: {}", key(&obj)), tmp));
        }
    }
    let examples = std::fs::read_dir(root().join("daemonset/examples")).expect("examples");
    let mut example_paths: Vec<PathBuf> = examples.map(|e| e.expect("entry").path()).collect();
    example_paths.sort();
    assert_eq!(
        example_paths.len(),
        4,
        "four stress pods: {example_paths:?}"
    );

    for version in ["1.33.0", "1.37.0"] {
        // One call per version (the tool starts slowly); one output line per object.
        let mut args = vec!["--strict".to_string(), "-k".into(), version.into()];
        args.extend(
            files
                .iter()
                .map(|(_, t)| t.path().to_string_lossy().into_owned()),
        );
        args.extend(
            example_paths
                .iter()
                .map(|p| p.to_string_lossy().into_owned()),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_ok("kubernetes-validate", &args);
        let line_of = |path: &str| -> String {
            let hits: Vec<&str> = out.lines().filter(|l| l.contains(path)).collect();
            assert_eq!(hits.len(), 1, "{path}: expected one result line in\n{out}");
            hits[0].to_string()
        };
        let mut validated = 0;
        for (what, tmp) in &files {
            let line = line_of(&tmp.path().to_string_lossy());
            let is_crd = what.contains(": ServiceMonitor/") || what.contains(": PrometheusRule/");
            if is_crd {
                assert!(
                    line.contains("Couldn't find schema"),
                    "{what}: expected no schema for a CRD, got {line}"
                );
            } else {
                assert!(line.contains("passed"), "{what} against {version}: {line}");
                validated += 1;
            }
        }
        for path in &example_paths {
            let line = line_of(&path.to_string_lossy());
            assert!(
                line.contains("passed"),
                "{path:?} against {version}: {line}"
            );
            validated += 1;
        }
        // base: Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding, Service,
        // DaemonSet (6); overlay: the same 6 + dashboard ConfigMap; 4 example pods.
        assert_eq!(validated, 6 + 7 + 4, "objects validated against {version}");
    }
}

/// The fallback renderer (for machines without kubectl) must produce exactly the objects
/// `kubectl kustomize` does.
#[test]
fn fallback_renderer_matches_kubectl_kustomize() {
    const TEST: &str = "fallback_renderer_matches_kubectl_kustomize";
    if !have_kubectl() {
        return unavailable(TEST, "kubectl (for `kubectl kustomize`) is not installed");
    }
    if !have_pyyaml() {
        return unavailable(TEST, "python3 with PyYAML is not available");
    }
    for dir in KUSTOMIZATIONS {
        let kubectl = render(dir).expect("kubectl rendering");
        let fallback: Vec<Value> = serde_json::from_str(&run_ok(
            "python3",
            &["scripts/kustomize-render.py", "--json", dir],
        ))
        .expect("fallback JSON");
        let by_key = |objs: &[Value]| -> BTreeMap<String, Value> {
            objs.iter().map(|o| (key(o), o.clone())).collect()
        };
        let (a, b) = (by_key(&kubectl), by_key(&fallback));
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "{dir}: object sets differ"
        );
        for (k, obj) in &a {
            assert_eq!(
                obj, &b[k],
                "{dir}: {k} differs between kubectl and the fallback"
            );
        }
    }
}

/// What the base install grants and how the agent runs: least privilege, read-only host
/// mounts, every node, flags the binary really accepts.
#[test]
fn base_install_is_least_privilege_and_runs_everywhere() {
    const TEST: &str = "base_install_is_least_privilege_and_runs_everywhere";
    let Some(objs) = render("daemonset") else {
        return unavailable(TEST, "python3 with PyYAML (for rendering) is not available");
    };
    let kinds: BTreeSet<String> = objs.iter().map(key).collect();
    let expected: BTreeSet<String> = [
        "Namespace//crashwatch",
        "ServiceAccount/crashwatch/crashwatch",
        "ClusterRole//crashwatch",
        "ClusterRoleBinding//crashwatch",
        "Service/crashwatch/crashwatch",
        "DaemonSet/crashwatch/crashwatch",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(kinds, expected);

    let ns = find(&objs, "Namespace", "crashwatch");
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );

    // RBAC: exactly these rules; never nodes/proxy, secrets or wildcards.
    let role = find(&objs, "ClusterRole", "crashwatch");
    assert_eq!(
        role["rules"],
        json!([
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["nodes/pods", "nodes/stats", "nodes/configz"], "verbs": ["get"]},
            {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]}
        ])
    );
    let rules = role["rules"].to_string();
    for forbidden in ["nodes/proxy", "secrets", "\"*\""] {
        assert!(!rules.contains(forbidden), "ClusterRole grants {forbidden}");
    }
    let binding = find(&objs, "ClusterRoleBinding", "crashwatch");
    assert_eq!(binding["roleRef"]["name"], "crashwatch");
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "crashwatch", "namespace": "crashwatch"}])
    );

    let ds = find(&objs, "DaemonSet", "crashwatch");
    let pod = &ds["spec"]["template"];
    let spec = &pod["spec"];
    assert_eq!(spec["serviceAccountName"], "crashwatch");
    assert_eq!(spec["priorityClassName"], "system-node-critical");
    assert_eq!(spec["tolerations"], json!([{"operator": "Exists"}]));
    assert_eq!(
        spec["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
    assert_eq!(spec["securityContext"]["runAsUser"], 65532);
    assert!(spec.get("hostNetwork").is_none() && spec.get("hostPID").is_none());
    let ann = &pod["metadata"]["annotations"];
    assert_eq!(ann["prometheus.io/scrape"], "true");
    assert_eq!(ann["prometheus.io/port"], "8000");
    assert_eq!(ann["prometheus.io/path"], "/metrics");

    let containers = spec["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(c["name"], "crashwatch");
    assert!(c["image"]
        .as_str()
        .is_some_and(|i| i.starts_with("ghcr.io/crashwatch/crashwatch:")));
    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["runAsUser"], 65532);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"], json!({"drop": ["ALL"]}));
    assert!(sc.get("privileged").is_none_or(|p| p == false));
    assert_eq!(
        c["ports"],
        json!([{"name": "http", "containerPort": 8000, "hostPort": 8000, "protocol": "TCP"}])
    );
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(
        c["resources"],
        json!({"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}})
    );
    let env: BTreeMap<&str, &Value> = c["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|e| (e["name"].as_str().unwrap_or(""), e))
        .collect();
    assert_eq!(
        env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"],
        "spec.nodeName"
    );
    assert_eq!(
        env["NODE_IP"]["valueFrom"]["fieldRef"]["fieldPath"],
        "status.hostIP"
    );

    // Host mounts: exactly /sys/fs/cgroup and /proc, both read-only.
    let volumes: BTreeMap<&str, &str> = spec["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap_or(""),
                v["hostPath"]["path"].as_str().unwrap_or("(not hostPath)"),
            )
        })
        .collect();
    assert_eq!(
        volumes,
        BTreeMap::from([("cgroup", "/sys/fs/cgroup"), ("proc", "/proc")])
    );
    let mounts: Vec<(&str, &str, bool)> = c["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap_or(""),
                m["mountPath"].as_str().unwrap_or(""),
                m["readOnly"] == true,
            )
        })
        .collect();
    assert_eq!(
        mounts,
        vec![
            ("cgroup", "/host/sys/fs/cgroup", true),
            ("proc", "/host/proc", true)
        ]
    );

    // The args must be accepted by the real command line and point at the mounts.
    let args: Vec<String> = c["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("string arg").to_string())
        .collect();
    let cli = crashwatch::cli::Cli::try_parse_from(
        std::iter::once("crashwatch".to_string()).chain(args.iter().cloned()),
    )
    .unwrap_or_else(|e| panic!("DaemonSet args {args:?} rejected by the CLI: {e}"));
    match cli.command {
        crashwatch::cli::Command::Run(run) => {
            assert_eq!(run.listen, "0.0.0.0:8000");
            assert_eq!(run.source.cgroup_root, Path::new("/host/sys/fs/cgroup"));
            assert_eq!(run.source.proc_root, Path::new("/host/proc"));
            assert!(run.source.kubelet_insecure_tls);
            // Default https://$NODE_IP:10250 from the downward API.
            assert_eq!(run.source.kubelet_url, None);
        }
        other => panic!("DaemonSet does not start `run`: {other:?}"),
    }

    // Headless Service selecting the pods, port name the ServiceMonitor uses.
    let svc = find(&objs, "Service", "crashwatch");
    assert_eq!(svc["spec"]["clusterIP"], "None");
    let pod_labels = &pod["metadata"]["labels"];
    for (k, v) in svc["spec"]["selector"].as_object().expect("selector") {
        assert_eq!(
            &pod_labels[k], v,
            "Service selector {k} does not match the pods"
        );
    }
    for (k, v) in ds["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("matchLabels")
    {
        assert_eq!(
            &pod_labels[k], v,
            "DaemonSet selector {k} does not match its template"
        );
    }
    assert_eq!(
        svc["spec"]["ports"],
        json!([{"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}])
    );
}

/// The monitoring overlay: ServiceMonitor finds the Service, PrometheusRule carries the
/// promtool-tested rules unchanged, the dashboard ConfigMap is the dashboard file.
#[test]
fn monitoring_component_is_consistent() {
    const TEST: &str = "monitoring_component_is_consistent";
    let Some(objs) = render("daemonset/overlays/monitoring") else {
        return unavailable(TEST, "python3 with PyYAML (for rendering) is not available");
    };
    let svc = find(&objs, "Service", "crashwatch");
    let sm = find(&objs, "ServiceMonitor", "crashwatch");
    assert_eq!(sm["apiVersion"], "monitoring.coreos.com/v1");
    for (k, v) in sm["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("ServiceMonitor selector")
    {
        assert_eq!(
            &svc["metadata"]["labels"][k], v,
            "ServiceMonitor misses the Service"
        );
    }
    assert_eq!(
        sm["spec"]["namespaceSelector"]["matchNames"],
        json!(["crashwatch"])
    );
    let endpoints = sm["spec"]["endpoints"].as_array().expect("endpoints");
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0]["port"], svc["spec"]["ports"][0]["name"]);
    assert_eq!(endpoints[0]["path"], "/metrics");
    // Without it the watched containers' namespace/pod/container labels get renamed.
    assert_eq!(endpoints[0]["honorLabels"], true);
    // job="crashwatch", which CrashwatchAgentDown/Absent select.
    let job_label = sm["spec"]["jobLabel"].as_str().expect("jobLabel");
    assert_eq!(svc["metadata"]["labels"][job_label], "crashwatch");

    let pr = find(&objs, "PrometheusRule", "crashwatch");
    assert_eq!(pr["apiVersion"], "monitoring.coreos.com/v1");
    let rules_file = parse_yaml("daemonset/monitoring/rules/crashwatch.rules.yaml")
        .expect("PyYAML is present: the rendering worked");
    assert_eq!(rules_file.len(), 1);
    assert_eq!(
        pr["spec"]["groups"], rules_file[0]["groups"],
        "prometheusrule.yaml differs from rules/crashwatch.rules.yaml: run scripts/gen-prometheusrule"
    );
    let alerts: BTreeSet<&str> = rules_file[0]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules").iter())
        .filter_map(|r| r["alert"].as_str())
        .collect();
    for required in [
        "CrashwatchCrashPredicted",
        "CrashwatchOOMImminent",
        "CrashwatchAgentDown",
        "CrashwatchAgentAbsent",
        "CrashwatchCollectErrorsRising",
        "CrashwatchSweepStalled",
    ] {
        assert!(alerts.contains(required), "missing alert {required}");
    }

    let cm = find(&objs, "ConfigMap", "crashwatch-grafana-dashboard");
    assert_eq!(cm["metadata"]["namespace"], "crashwatch");
    assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1");
    let file = std::fs::read_to_string(root().join("daemonset/monitoring/grafana-dashboard.json"))
        .expect("dashboard file");
    assert_eq!(cm["data"]["crashwatch.json"].as_str(), Some(file.as_str()));
}

/// Text-level twin of the check above that needs no tool: the PrometheusRule is exactly
/// what `scripts/gen-prometheusrule` makes of the rules file.
#[test]
fn prometheusrule_is_generated_from_the_rules_file() {
    let rules =
        std::fs::read_to_string(root().join("daemonset/monitoring/rules/crashwatch.rules.yaml"))
            .expect("rules file");
    let generated =
        std::fs::read_to_string(root().join("daemonset/monitoring/prometheusrule.yaml"))
            .expect("PrometheusRule");
    let (header, body) = generated
        .split_once("\nspec:\n")
        .expect("PrometheusRule has a spec");
    assert!(header.contains("kind: PrometheusRule"));
    let groups = &rules[rules.find("\ngroups:\n").expect("groups in rules file") + 1..];
    let indented: String = groups
        .lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("  {l}\n")
            }
        })
        .collect();
    assert_eq!(
        body, indented,
        "prometheusrule.yaml is stale: run scripts/gen-prometheusrule"
    );
}

#[test]
fn promtool_checks_and_unit_tests_the_rules() {
    if !runs("promtool", &["--version"]) {
        return unavailable(
            "promtool_checks_and_unit_tests_the_rules",
            "promtool (Debian package prometheus) is not installed",
        );
    }
    let out = run_ok(
        "promtool",
        &[
            "check",
            "rules",
            "daemonset/monitoring/rules/crashwatch.rules.yaml",
        ],
    );
    assert!(out.contains("SUCCESS: 11 rules found"), "{out}");
    let out = run_ok(
        "promtool",
        &[
            "test",
            "rules",
            "daemonset/monitoring/rules/crashwatch.rules.test.yaml",
            "daemonset/monitoring/rules/crashwatch.recording.test.yaml",
        ],
    );
    assert_eq!(out.matches("  SUCCESS").count(), 2, "{out}");
}

/// A PromQL expression of the dashboard, with where it came from.
struct DashExpr {
    origin: String,
    expr: String,
}

fn dashboard() -> Value {
    let file = std::fs::read_to_string(root().join("daemonset/monitoring/grafana-dashboard.json"))
        .expect("dashboard file");
    serde_json::from_str(&file).expect("dashboard is JSON")
}

/// Every PromQL expression in the dashboard (panel targets, also inside rows, and the
/// query of `label_values(...)` variables), with Grafana variables substituted the way
/// Grafana would for a typical selection.
fn dashboard_exprs(dash: &Value) -> Vec<DashExpr> {
    let mut subst: Vec<(String, String)> = vec![
        ("$__rate_interval".into(), "1m".into()),
        ("$__interval".into(), "30s".into()),
        ("$__range".into(), "6h".into()),
    ];
    let mut raw = Vec::new();
    for var in dash["templating"]["list"].as_array().expect("templating") {
        let name = var["name"].as_str().expect("variable name");
        let value = match var["type"].as_str() {
            Some("custom") => var["current"]["value"]
                .as_str()
                .expect("custom variable has a current value")
                .to_string(),
            Some("query") => {
                let q = var["query"]["query"]
                    .as_str()
                    .or(var["query"].as_str())
                    .expect("query variable has a query");
                let inner = q
                    .strip_prefix("label_values(")
                    .and_then(|s| s.strip_suffix(')'))
                    .and_then(|s| s.rsplit_once(','))
                    .map(|(expr, _label)| expr.to_string())
                    .unwrap_or_else(|| panic!("variable {name}: unexpected query {q}"));
                raw.push((format!("variable {name}"), inner));
                // Multi-value "All" selections become the allValue regex.
                var["allValue"].as_str().unwrap_or(".*").to_string()
            }
            _ => continue,
        };
        subst.push((format!("${{{name}}}"), value.clone()));
        subst.push((format!("${name}"), value));
    }
    // Longest first so `$pod` never eats part of a longer name.
    subst.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));

    fn walk(panels: &Value, raw: &mut Vec<(String, String)>) {
        for p in panels.as_array().into_iter().flatten() {
            let title = p["title"].as_str().unwrap_or("?");
            for t in p["targets"].as_array().into_iter().flatten() {
                if let Some(e) = t["expr"].as_str() {
                    let r = t["refId"].as_str().unwrap_or("?");
                    raw.push((format!("panel {title:?} target {r}"), e.to_string()));
                }
            }
            walk(&p["panels"], raw);
        }
    }
    walk(&dash["panels"], &mut raw);

    raw.into_iter()
        .map(|(origin, mut expr)| {
            for (k, v) in &subst {
                expr = expr.replace(k.as_str(), v);
            }
            assert!(
                !expr.contains('$'),
                "{origin}: unsubstituted variable in {expr}"
            );
            DashExpr { origin, expr }
        })
        .collect()
}

/// Every dashboard expression goes through `promtool check rules` as a recording rule.
#[test]
fn dashboard_promql_passes_promtool() {
    if !runs("promtool", &["--version"]) {
        return unavailable(
            "dashboard_promql_passes_promtool",
            "promtool (Debian package prometheus) is not installed",
        );
    }
    let exprs = dashboard_exprs(&dashboard());
    let mut yaml = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        // JSON strings are valid YAML double-quoted scalars.
        yaml += &format!(
            "      # {}\n      - record: dashboard:expr_{i}\n        expr: {}\n",
            e.origin,
            serde_json::to_string(&e.expr).expect("string")
        );
    }
    let tmp = tempfile::Builder::new()
        .suffix(".rules.yaml")
        .tempfile()
        .expect("temp file");
    std::fs::write(tmp.path(), &yaml).expect("write rules");
    let out = run(
        "promtool",
        &["check", "rules", &tmp.path().to_string_lossy()],
    );
    assert!(
        out.status.success(),
        "promtool rejects a dashboard expression:\n{}{}\n{yaml}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let expected = format!("SUCCESS: {} rules found", exprs.len());
    assert!(
        text(&out.stdout).contains(&expected),
        "{}",
        text(&out.stdout)
    );
}

/// Names in PromQL that start with `crashwatch_` (not recording-rule names, which contain
/// a colon).
fn crashwatch_names(expr: &str) -> BTreeSet<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| t.starts_with("crashwatch_") && !t.contains(':'))
        .map(str::to_string)
        .collect()
}

/// promtool cannot know our metric names: a typo would chart nothing. Every
/// `crashwatch_*` name in the dashboard and the rules must be one the agent exports, and
/// the dashboard has the panels the issue asks for.
#[test]
fn dashboard_and_rules_use_only_exported_metrics() {
    let dash = dashboard();
    let exprs = dashboard_exprs(&dash);
    assert!(exprs.len() >= 20, "only {} expressions", exprs.len());
    let known: BTreeSet<&str> = METRICS.iter().copied().collect();
    let mut used = BTreeSet::new();
    for e in &exprs {
        for name in crashwatch_names(&e.expr) {
            assert!(
                known.contains(name.as_str()),
                "{}: unknown metric {name}",
                e.origin
            );
            used.insert(name);
        }
    }
    let rules =
        std::fs::read_to_string(root().join("daemonset/monitoring/rules/crashwatch.rules.yaml"))
            .expect("rules file");
    for name in crashwatch_names(&rules) {
        // Alert names like CrashwatchOOMImminent are CamelCase and never match.
        assert!(
            known.contains(name.as_str()),
            "rules: unknown metric {name}"
        );
        used.insert(name);
    }
    // Every per-container and self metric is charted or alerted on somewhere.
    for m in METRICS {
        let base = m
            .trim_end_matches("_bucket")
            .trim_end_matches("_sum")
            .trim_end_matches("_count");
        assert!(
            used.iter().any(|u| u.starts_with(base)),
            "{m} is neither charted nor alerted on"
        );
    }
    // Recording rules the dashboard reads exist in the rules file.
    for e in &exprs {
        for token in e
            .expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        {
            if token.starts_with("cluster:crashwatch_") {
                assert!(
                    rules.contains(&format!("record: {token}")),
                    "{}: no recording rule {token}",
                    e.origin
                );
            }
        }
    }
    // The agents' own cost comes from cAdvisor, since the agent exports no process_*.
    let all: String = exprs.iter().map(|e| e.expr.as_str()).collect();
    assert!(all.contains(
        r#"container_cpu_usage_seconds_total{namespace="crashwatch", container="crashwatch"}"#
    ));
    assert!(all.contains(
        r#"container_memory_working_set_bytes{namespace="crashwatch", container="crashwatch"}"#
    ));

    let mut titles = Vec::new();
    for p in dash["panels"].as_array().expect("panels") {
        if p["type"] != "row" {
            assert_eq!(
                p["datasource"]["uid"], "${datasource}",
                "panel {} is not bound to the datasource variable",
                p["title"]
            );
        }
        titles.push(p["title"].as_str().expect("title").to_string());
    }
    for wanted in [
        "Top $topn containers at risk",
        "Time to OOM",
        "Working set / limit (top $topn)",
        "Outcomes in the selected range",
        "Sweep duration",
        "Agent CPU",
        "Agent memory",
    ] {
        assert!(
            titles.iter().any(|t| t == wanted),
            "no panel {wanted:?}: {titles:?}"
        );
    }
    assert_eq!(dash["uid"], "crashwatch");
}

/// The image is built the way CI builds and start-checks the binary.
#[test]
fn dockerfile_matches_the_ci_build() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).expect("Dockerfile");
    let ci = std::fs::read_to_string(root().join(".ci/run")).expect(".ci/run");
    let build = "cargo build --release --locked";
    assert!(dockerfile.contains(build) && ci.contains(build));
    assert!(ci.contains("scripts/start-check target/release/crashwatch"));
    for line in [
        "USER 65532:65532",
        "EXPOSE 8000",
        r#"ENTRYPOINT ["/crashwatch"]"#,
        r#"CMD ["run"]"#,
        "COPY --from=builder /crashwatch /crashwatch",
    ] {
        assert!(
            dockerfile.lines().any(|l| l == line),
            "Dockerfile lacks {line:?}"
        );
    }
    assert_eq!(
        dockerfile.matches("\nFROM ").count() + usize::from(dockerfile.starts_with("FROM ")),
        2,
        "multi-stage: builder + runtime"
    );
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).expect(".dockerignore");
    assert!(ignore.lines().any(|l| l == "target"));
}

/// The example pods are the ones docs/ship.md talks about, each with limits (the thing
/// crashwatch predicts against).
#[test]
fn stress_pods_have_the_documented_names_and_limits() {
    const TEST: &str = "stress_pods_have_the_documented_names_and_limits";
    let mut seen = BTreeMap::new();
    for file in ["stress-pod", "page-cache-writer", "cpu-hog", "fork-growth"] {
        let Some(docs) = parse_yaml(&format!("daemonset/examples/{file}.yaml")) else {
            return unavailable(TEST, "python3 with PyYAML is not available");
        };
        assert_eq!(docs.len(), 1);
        let pod = &docs[0];
        assert_eq!(pod["kind"], "Pod");
        assert_eq!(pod["metadata"]["name"], file);
        let c = &pod["spec"]["containers"][0];
        assert!(
            c["resources"]["limits"]["memory"].is_string(),
            "{file}: no memory limit"
        );
        assert!(
            c["resources"]["limits"]["cpu"].is_string(),
            "{file}: no cpu limit"
        );
        seen.insert(
            file,
            (
                c["name"].as_str().unwrap_or("").to_string(),
                c["resources"]["limits"]["memory"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                c["resources"]["limits"]["cpu"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            ),
        );
    }
    assert_eq!(
        seen["stress-pod"],
        ("stress".into(), "256Mi".into(), "200m".into())
    );
    assert_eq!(
        seen["page-cache-writer"],
        ("writer".into(), "128Mi".into(), "200m".into())
    );
    assert_eq!(
        seen["cpu-hog"],
        ("hog".into(), "32Mi".into(), "100m".into())
    );
}

/// A `crashwatch run` child process, stopped (SIGTERM, then SIGKILL) when dropped so that a
/// failing assertion leaves nothing running.
struct Agent {
    child: std::process::Child,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET path` over a fresh connection; returns (status code, body).
fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    let code = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = buf
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Ok((code, body))
}

/// Label names and values of one exposition sample line (`name{a="x",b="y"} 1`).
fn sample_labels(line: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(inner) = line
        .split_once('{')
        .and_then(|(_, rest)| rest.rsplit_once('}'))
        .map(|(inner, _)| inner)
    else {
        return out;
    };
    let mut rest = inner;
    while let Some((name, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(n);
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        out.insert(name.trim_start_matches(',').trim().to_string(), value);
        rest = &after[end..];
    }
    out
}

/// The real agent, on a fixture node, exports every family the dashboard and the alerts
/// read, with the labels they group by. promtool and the name list above cannot see a
/// renamed label or a family the agent stopped exporting; this can.
#[test]
fn agent_exports_what_the_dashboard_and_rules_read() {
    use std::io::BufRead;
    let tree = root().join("fixtures/v2-systemd-containerd");
    let mut child = Command::new(env!("CARGO_BIN_EXE_crashwatch"))
        .args(["run", "--kubelet-url", "off", "--listen", "127.0.0.1:0"])
        .args(["--interval", "200ms", "--cgroup-root"])
        .arg(tree.join("sys/fs/cgroup"))
        .arg("--proc-root")
        .arg(tree.join("proc"))
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start crashwatch run");
    let stderr = child.stderr.take().expect("stderr");
    let agent = Agent { child };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let addr = loop {
        match rx.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(line) => {
                if let Some((_, rest)) = line.split_once("listening on ") {
                    break rest.split_whitespace().next().unwrap_or("").to_string();
                }
                seen.push(line);
            }
            Err(_) => panic!("no `listening on` line; agent said:\n{}", seen.join("\n")),
        }
    };
    let mut ready = false;
    for _ in 0..100 {
        if matches!(http_get(&addr, "/readyz"), Ok((200, _))) {
            ready = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(ready, "agent on {addr} never became ready");
    let (code, metrics) = http_get(&addr, "/metrics").expect("scrape");
    assert_eq!(code, 200);
    drop(agent);

    let mut families: BTreeMap<String, String> = BTreeMap::new();
    for line in metrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            if let Some((name, kind)) = rest.split_once(' ') {
                families.insert(name.to_string(), kind.to_string());
            }
        }
    }
    let samples = |family: &str| -> Vec<BTreeMap<String, String>> {
        metrics
            .lines()
            .filter(|l| l.starts_with(family) && l[family.len()..].starts_with(['{', ' ']))
            .map(sample_labels)
            .collect()
    };
    // Present only while a container grows toward its limit / is alarmed.
    let state_dependent = [
        "crashwatch_time_to_oom_seconds",
        "crashwatch_crash_predicted",
    ];
    for m in METRICS {
        let family = m
            .trim_end_matches("_bucket")
            .trim_end_matches("_sum")
            .trim_end_matches("_count");
        if state_dependent.contains(&family) && !families.contains_key(family) {
            continue;
        }
        let expected = match family {
            "crashwatch_collect_duration_seconds" => "histogram",
            f if f.ends_with("_total") => "counter",
            _ => "gauge",
        };
        assert_eq!(
            families.get(family).map(String::as_str),
            Some(expected),
            "family {family} in /metrics:\n{metrics}"
        );
    }
    let per_container = BTreeSet::from(["namespace", "pod", "container"].map(String::from));
    for family in [
        "crashwatch_crash_risk",
        "crashwatch_memory_working_set_bytes",
        "crashwatch_memory_limit_bytes",
        "crashwatch_time_to_oom_seconds",
    ] {
        for labels in samples(family) {
            let names: BTreeSet<String> = labels.keys().cloned().collect();
            assert_eq!(names, per_container, "{family} labels");
        }
    }
    assert!(!samples("crashwatch_crash_risk").is_empty(), "{metrics}");
    for labels in samples("crashwatch_crash_predicted") {
        let names: BTreeSet<&str> = labels.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            BTreeSet::from(["namespace", "pod", "container", "cause"])
        );
    }
    let outcomes: BTreeSet<String> = samples("crashwatch_predictions_total")
        .into_iter()
        .filter_map(|l| l.get("outcome").cloned())
        .collect();
    assert_eq!(
        outcomes,
        BTreeSet::from(["hit", "late", "miss", "false_alarm"].map(String::from)),
        "outcomes the recording rules sum"
    );
    let kinds: BTreeSet<String> = samples("crashwatch_collect_errors_total")
        .into_iter()
        .filter_map(|l| l.get("kind").cloned())
        .collect();
    assert!(
        kinds.contains("vanished"),
        "CrashwatchCollectErrorsRising excludes kind=\"vanished\": {kinds:?}"
    );
    let build = samples("crashwatch_build_info");
    assert_eq!(build.len(), 1);
    let names: BTreeSet<&str> = build[0].keys().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from(["version", "model_version"]),
        "dashboard groups by these"
    );
    assert_eq!(build[0]["version"], env!("CARGO_PKG_VERSION"));
}
