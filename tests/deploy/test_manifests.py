"""Static checks of deploy/k8s: every overlay renders (kubectl kustomize), validates against the Kubernetes
schemas (kubernetes-validate, offline), and checkov finds no failed check that is not justified in
deploy/k8s/.checkov.yaml; the production overlay carries the certification's numbers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_env import unavailable
from manifests import K8S, OVERLAYS, find, kubectl, pod_spec, render, render_text, workloads

pytestmark = pytest.mark.parametrize("overlay", OVERLAYS)


@pytest.fixture(autouse=True)
def _needs_kubectl() -> None:
    if kubectl() is None:
        unavailable("kubectl", "not on PATH (it renders the kustomize overlays)")


def test_overlay_validates_against_the_schemas(overlay: str, tmp_path: Path) -> None:
    rendered = tmp_path / f"{overlay}.yaml"
    rendered.write_text(render_text(overlay))
    validate = Path(sys.executable).with_name("kubernetes-validate")
    done = subprocess.run(
        [str(validate), "--strict", "--quiet", str(rendered)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    kinds = sorted({d["kind"] for d in render(overlay)})
    assert kinds == sorted(
        [
            "ConfigMap",
            "CronJob",
            "Deployment",
            "HorizontalPodAutoscaler",
            "Ingress",
            "Job",
            "Namespace",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "Service",
            "ServiceAccount",
        ]
    )


def checkov_path() -> str | None:
    found = shutil.which("checkov")
    if found:
        return found
    local = Path.home() / ".local" / "bin" / "checkov"
    return str(local) if local.exists() else None


def test_checkov_has_no_unjustified_failure(overlay: str, tmp_path: Path) -> None:
    exe = checkov_path()
    if exe is None:
        unavailable("checkov", "not installed (make setup installs it as a uv tool)")
    rendered = tmp_path / f"{overlay}.yaml"
    rendered.write_text(render_text(overlay))
    done = subprocess.run(
        [exe, "--config-file", str(K8S / ".checkov.yaml"), "-f", str(rendered), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
    )
    report = json.loads(done.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for rep in reports
        for check in rep["results"]["failed_checks"]
    ]
    assert failed == []
    assert sum(rep["summary"]["passed"] for rep in reports) > 300


def test_every_checkov_skip_is_justified(overlay: str) -> None:
    lines = (K8S / ".checkov.yaml").read_text().splitlines()
    skips = [i for i, line in enumerate(lines) if re.match(r"\s*- CKV", line)]
    assert skips
    for index in skips:
        assert lines[index - 1].strip().startswith("#"), f"no justification above {lines[index].strip()}"


def _container(doc: dict[str, Any]) -> dict[str, Any]:
    containers = pod_spec(doc)["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def test_security_posture(overlay: str) -> None:
    docs = render(overlay)
    namespace = find(docs, "Namespace", "reconciliation")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert all(d["metadata"].get("namespace") == "reconciliation" for d in docs if d["kind"] != "Namespace")
    account = find(docs, "ServiceAccount", "reconciliation")
    assert account["automountServiceAccountToken"] is False
    assert not [d for d in docs if d["kind"] in {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}]
    for doc in workloads(docs):
        spec, container = pod_spec(doc), _container(doc)
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        assert (
            spec["serviceAccountName"] == "reconciliation" and spec["automountServiceAccountToken"] is False
        )
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] == 1001, where
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        ctx = container["securityContext"]
        assert ctx["runAsUser"] == 1001 and ctx["runAsGroup"] == 1001, where
        assert ctx["readOnlyRootFilesystem"] is True and ctx["allowPrivilegeEscalation"] is False, where
        assert ctx["capabilities"]["drop"] == ["ALL"] and "add" not in ctx["capabilities"], where
        mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
        assert "/tmp" in mounts, f"{where}: /tmp must be an explicit writable volume"
        assert not any("persistentVolumeClaim" in v for v in spec.get("volumes", [])), where
    policies = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "NetworkPolicy"}
    assert policies["default-deny-all"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = policies["allow-dns"]["egress"][0]["ports"]
    assert {(p["protocol"], p["port"]) for p in dns} == {("UDP", 53), ("TCP", 53)}
    for component in ("api", "worker", "frontend", "maintenance"):
        selected = [
            name
            for name, spec in policies.items()
            if spec["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/component") == component
        ]
        assert selected, f"no NetworkPolicy allows traffic of the {component} pods"


def test_ingress_routes_root_and_api(overlay: str) -> None:
    ingress = find(render(overlay), "Ingress", "reconciliation")
    assert ingress["spec"]["ingressClassName"] == "traefik"
    paths = {p["path"]: p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert paths == {"/api": "recon-api", "/": "recon-frontend"}


def test_certification_numbers(overlay: str) -> None:
    if overlay != "production":
        pytest.skip("the certification's numbers are production's (staging runs fewer replicas)")
    docs = render(overlay)
    for name, low, high in (("recon-api", 3, 15), ("recon-frontend", 3, 10)):
        hpa = find(docs, "HorizontalPodAutoscaler", name)["spec"]
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (low, high)
        targets = {m["resource"]["name"]: m["resource"]["target"] for m in hpa["metrics"]}
        assert targets == {
            "cpu": {"type": "Utilization", "averageUtilization": 70},
            "memory": {"type": "Utilization", "averageUtilization": 80},
        }
        assert hpa["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 0
        down = hpa["behavior"]["scaleDown"]
        assert down["stabilizationWindowSeconds"] == 300
        assert down["policies"] == [{"type": "Percent", "value": 25, "periodSeconds": 60}]
        assert find(docs, "PodDisruptionBudget", name)["spec"]["minAvailable"] == 2
    limits = {
        "recon-api": ({"cpu": "250m", "memory": "256Mi"}, {"cpu": "350m", "memory": "350Mi"}),
        "recon-frontend": ({"cpu": "100m", "memory": "128Mi"}, {"cpu": "175m", "memory": "175Mi"}),
    }
    for name, (requests, limit) in limits.items():
        deployment = find(docs, "Deployment", name)
        assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
        container = _container(deployment)
        assert container["resources"] == {"requests": requests, "limits": limit}
        probes = {
            kind: container[kind]["httpGet"]["path"]
            for kind in ("startupProbe", "livenessProbe", "readinessProbe")
        }
        ready = "/ready" if name == "recon-api" else "/health"
        assert probes == {"startupProbe": "/health", "livenessProbe": "/health", "readinessProbe": ready}
        spread = {c["topologyKey"] for c in pod_spec(deployment)["topologySpreadConstraints"]}
        assert spread == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    api = find(docs, "Deployment", "recon-api")
    annotations = api["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == "9091"
    assert {p["containerPort"] for p in _container(api)["ports"]} == {2000, 9091}
    frontend_ports = [
        p["containerPort"] for p in _container(find(docs, "Deployment", "recon-frontend"))["ports"]
    ]
    assert frontend_ports == [8080]
    worker = _container(find(docs, "Deployment", "recon-worker"))
    assert worker["args"] == ["worker"] and "limits" in worker["resources"]
    assert _container(find(docs, "Job", "recon-migrate"))["args"] == ["db", "upgrade"]
    assert _container(find(docs, "CronJob", "recon-backup"))["args"] == ["backup", "create"]


def test_grace_period_covers_the_drain_and_the_graceful_stop(overlay: str) -> None:
    """The kubelet kills at terminationGracePeriodSeconds: the api's preStop pause, its drain (still serving,
    readiness 503) and the graceful stop (requests, then jobs) must fit, or requests are cut (502s)."""
    docs = render(overlay)
    config = find(docs, "ConfigMap", "recon-config")["data"]
    drain_s, timeout_s = float(config["SHUTDOWN_DRAIN_S"]), float(config["SHUTDOWN_TIMEOUT_S"])
    assert drain_s >= 10  # two failed readiness probes (period 5 s) before the port closes
    for name, drains in (("recon-api", True), ("recon-worker", False)):
        deployment = find(docs, "Deployment", name)
        pre_stop = _container(deployment).get("lifecycle", {}).get("preStop", {}).get("sleep", {})
        needed = pre_stop.get("seconds", 0) + (drain_s if drains else 0) + 2 * timeout_s + 5
        assert pod_spec(deployment)["terminationGracePeriodSeconds"] >= needed, name
    readiness = _container(find(docs, "Deployment", "recon-api"))["readinessProbe"]
    assert readiness["periodSeconds"] * readiness["failureThreshold"] <= drain_s


def test_monitoring_rules_and_dashboard(overlay: str) -> None:
    monitoring = K8S.parent / "monitoring"
    rules = yaml.safe_load((monitoring / "alerts.yaml").read_text())
    alerts = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    for name in (
        "ReconApiHighCpu",
        "ReconApiHighMemory",
        "ReconPodCrashLooping",
        "ReconApiErrorRate",
        "ReconApiLatencyP99",
    ):
        assert name in alerts, name
        assert alerts[name]["annotations"]["summary"] and alerts[name]["labels"]["severity"]
    assert "0.001" in alerts["ReconApiErrorRate"]["expr"]
    dashboard = json.loads((monitoring / "grafana-dashboard.json").read_text())
    queries = " ".join(t["expr"] for p in dashboard["panels"] for t in p.get("targets", []))
    for metric in (
        "recon_http_requests_total",
        "recon_http_request_duration_seconds_bucket",
        "recon_jobs",
        "recon_run_duration_seconds",
        "process_resident_memory_bytes",
        "recon_db_pool_checked_out",
    ):
        assert metric in queries, metric
    scrape = yaml.safe_load((monitoring / "prometheus-scrape.yaml").read_text())
    assert "9091" in json.dumps(scrape) or "prometheus_io_port" in json.dumps(scrape)
