"""infra/k8s: the kustomizations render, and run what docker-compose.yml runs, with the same settings.

Rendered with `kubectl kustomize` (no cluster needed); built-in kinds are checked against the
Kubernetes OpenAPI schemas that kubernetes-validate ships.
"""

import functools
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra/k8s"
# Compose services that are not terrafake processes, and where each lives on Kubernetes instead.
ELSEWHERE = {
    "postgres": "external (managed); StatefulSet in overlays/dev",
    "redis": "external (managed); StatefulSet in overlays/dev",
    "minio": "the user's S3 bucket; StatefulSet in overlays/dev",
    "minio-bucket": "the user's S3 bucket; Job in overlays/dev",
    "prometheus": "the cluster's own Prometheus, through scrape annotations",
    "grafana": "the cluster's own Grafana (import infra/grafana/dashboards/terrafake.json)",
}
# compose service -> Kubernetes workload (kind, name).
WORKLOADS = {
    "migrate": ("Job", "terrafake-migrate"),
    "door": ("Deployment", "terrafake-door"),
    **{name: ("Deployment", name) for name in ("jobs", "ingestion", "training", "generation", "detection",
                                               "web", "flower", "worker-cpu", "worker-gpu", "triton")},  # fmt: skip
}


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


@functools.cache
def render(path: str) -> tuple:
    tool = shutil.which("kubectl")
    if tool is None:
        pytest.skip("kubectl is not installed (scripts/install_test_tools.sh installs it where apt has it)")
    version = subprocess.run([tool, "version", "--client"], capture_output=True, text=True, timeout=30).stdout
    found = re.search(r"Kustomize Version: v(\d+)", version)
    if not found or int(found.group(1)) < 5:
        pytest.skip(f"kubectl's kustomize is older than v5 ({version.strip()!r}); the manifests need v5")
    done = subprocess.run([tool, "kustomize", str(K8S / path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return tuple(yaml.safe_load_all(done.stdout))


def find(docs, kind, name):
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def pod(doc):
    return doc["spec"]["template"]["spec"]


def env_of(docs, container):
    """Every variable the container gets, from env and from the ConfigMaps and Secrets it reads."""
    import base64

    out = {e["name"]: e.get("value", "<ref>") for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            out.update(find(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
        else:
            data = find(docs, "Secret", source["secretRef"]["name"])["data"]
            out.update({k: base64.b64decode(v).decode() for k, v in data.items()})
    return out


@pytest.mark.parametrize("path", ["base", "overlays/dev"])
def test_every_compose_process_has_a_workload_and_nothing_is_left_out(path):
    docs = render(path)
    services = compose()
    assert set(services) == set(WORKLOADS) | set(ELSEWHERE)
    for name, (kind, workload) in WORKLOADS.items():
        doc = find(docs, kind, workload)
        if "command" in services[name]:
            # The same command line, but for addresses that are Service names here.
            command = pod(doc)["containers"][0]["command"]
            expected = [a.replace("door:50051", "terrafake-door:50051") for a in services[name]["command"]]
            if name == "flower":
                expected = [a.replace("redis://redis:6379/0", "$(REDIS_URL)") for a in expected]
            assert command == expected, name


@pytest.mark.parametrize("path", ["base", "overlays/dev"])
def test_every_container_has_probes_resources_and_the_image_compose_names(path):
    docs = render(path)
    workloads = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job")]
    for doc in workloads:
        spec = pod(doc)
        for container in spec["containers"] + spec.get("initContainers", []):
            where = f"{doc['kind']}/{doc['metadata']['name']}/{container['name']}"
            resources = container.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), where
            assert "memory" in resources.get("limits", {}), where
            if doc["kind"] != "Job" and container in spec["containers"]:
                assert "readinessProbe" in container and "livenessProbe" in container, where
    services = compose()
    image = {name: pod(find(docs, *w))["containers"][0]["image"] for name, w in WORKLOADS.items()}
    for name, (kind, workload) in WORKLOADS.items():
        expected = services[name]["image"]
        if expected == "terrafake:latest":
            assert services[name]["build"]["dockerfile"] == "infra/Dockerfile"
        # The tag is the user's (kustomization images:); the name is compose's.
        assert image[name].rsplit(":", 1)[0] == expected.rsplit(":", 1)[0], name
    assert image["triton"] == services["triton"]["image"]
    # The gRPC probes ask grpc.health.v1 on the port the server listens on.
    for name in ("jobs", "ingestion", "training", "generation", "detection"):
        container = pod(find(docs, "Deployment", name))["containers"][0]
        port = int(services[name]["environment"]["TERRAFAKE_GRPC_ADDRESS"].rsplit(":", 1)[1])
        assert container["readinessProbe"]["grpc"]["port"] == port == container["livenessProbe"]["grpc"]["port"]
        assert env_of(docs, container)["TERRAFAKE_GRPC_ADDRESS"] == f"0.0.0.0:{port}"
        service = find(docs, "Service", name)
        assert service["spec"]["ports"][0]["port"] == port
    assert pod(find(docs, "Deployment", "web"))["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/healthz"
    triton = pod(find(docs, "Deployment", "triton"))["containers"][0]
    assert triton["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"


@pytest.mark.parametrize("path", ["base", "overlays/dev"])
def test_every_process_gets_every_setting_compose_gives_it(path):
    from shared.config import Settings

    docs = render(path)
    services = compose()
    for name, (kind, workload) in WORKLOADS.items():
        if services[name].get("image") != "terrafake:latest":
            continue
        env = env_of(docs, pod(find(docs, kind, workload))["containers"][0])
        wanted = set(services[name]["environment"])
        if path == "base":
            wanted.discard("AWS_ENDPOINT_URL")  # unset means AWS S3; another store adds it (settings.env)
        assert wanted <= set(env), (name, wanted - set(env))
        settings = Settings.from_env(env)  # every value parses
        assert settings.storage_url and settings.storage_url.startswith("s3://"), name
        assert settings.metrics_port == 9100 and settings.log_format == "json", name
        if name.startswith("worker-"):
            assert settings.grpc_host == "0.0.0.0", f"{name} would serve /metrics on loopback only"
    # The references resolve: each named ConfigMap, Secret and key exists.
    for doc in docs:
        if doc["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        for container in pod(doc)["containers"] + pod(doc).get("initContainers", []):
            env_of(docs, container)
            for entry in container.get("env", []):
                for ref_kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                    ref = entry.get("valueFrom", {}).get(key)
                    if ref:
                        assert ref["key"] in find(docs, ref_kind, ref["name"])["data"], (doc["metadata"]["name"], ref)


def test_the_base_secret_holds_only_placeholders_and_the_dev_overlay_compose_defaults():
    import base64

    docs = render("base")
    secrets = [d for d in docs if d["kind"] == "Secret"]
    assert len(secrets) == 1
    values = {k: base64.b64decode(v).decode() for k, v in secrets[0]["data"].items()}
    for key in ("DATABASE_URL", "REDIS_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "REDIS_PASSWORD"):
        assert "CHANGE-ME" in values[key], key
    assert all("example" in values[k] for k in ("DATABASE_URL", "REDIS_URL", "REDIS_ADDRESS"))
    dev = env_of(render("overlays/dev"), pod(find(render("overlays/dev"), "Deployment", "jobs"))["containers"][0])
    services = compose()
    # ${VAR:-default} in compose: the dev overlay uses the defaults.
    default = {k: re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(v)) for k, v in services["jobs"]["environment"].items()}
    for key in ("DATABASE_URL", "REDIS_URL", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert dev[key] == default[key], key


@pytest.mark.parametrize("path", ["base", "overlays/dev"])
def test_workers_scale_on_queues_that_exist_and_gpu_ones_request_a_gpu(path):
    from shared.jobs.kinds import QUEUES

    docs = render(path)
    scaled = {d["spec"]["scaleTargetRef"]["name"]: d for d in docs if d["kind"] == "ScaledObject"}
    assert set(scaled) == {"worker-cpu", "worker-gpu"}
    auth = {d["metadata"]["name"]: d for d in docs if d["kind"] == "TriggerAuthentication"}
    for name, scaled_object in scaled.items():
        command = pod(find(docs, "Deployment", name))["containers"][0]["command"]
        queue = command[command.index("--queues") + 1]
        assert queue in QUEUES
        redis = [t for t in scaled_object["spec"]["triggers"] if t["type"] == "redis"]
        assert [t["metadata"]["listName"] for t in redis] == [queue], name
        for trigger in scaled_object["spec"]["triggers"]:
            for ref in auth[trigger["authenticationRef"]["name"]]["spec"]["secretTargetRef"]:
                assert ref["key"] in find(docs, "Secret", ref["name"])["data"]
        postgres = [t for t in scaled_object["spec"]["triggers"] if t["type"] == "postgresql"]
        assert postgres and f"queue = '{queue}'" in postgres[0]["metadata"]["query"], name
        assert "replicas" not in find(docs, "Deployment", name)["spec"], f"{name}: KEDA owns the replica count"
    assert scaled["worker-gpu"]["spec"]["minReplicaCount"] == 0
    gpu = {name: "nvidia.com/gpu" in pod(find(docs, "Deployment", name))["containers"][0]["resources"]["limits"]
           for name in ("worker-gpu", "worker-cpu", "triton")}  # fmt: skip
    if path == "base":
        assert gpu == {"worker-gpu": True, "worker-cpu": False, "triton": True}
        for name in ("worker-gpu", "triton"):
            assert pod(find(docs, "Deployment", name))["nodeSelector"] and pod(find(docs, "Deployment", name))["tolerations"]
    else:
        assert not any(gpu.values()), "the dev overlay runs on a laptop without a GPU"


@pytest.mark.parametrize("path", ["base", "overlays/dev"])
def test_grpc_services_autoscale_and_keep_replicas_through_disruptions(path):
    docs = render(path)
    hpas = {d["spec"]["scaleTargetRef"]["name"]: d for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    pdbs = {d["metadata"]["name"]: d for d in docs if d["kind"] == "PodDisruptionBudget"}
    for name in ("jobs", "ingestion", "training", "generation", "detection"):
        deployment = find(docs, "Deployment", name)
        assert "replicas" not in deployment["spec"], f"{name}: the HPA owns the replica count"
        assert hpas[name]["spec"]["metrics"][0]["resource"]["name"] == "cpu"
        assert hpas[name]["spec"]["minReplicas"] == (2 if path == "base" else 1)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert pdbs[name]["spec"]["selector"]["matchLabels"].items() <= labels.items()
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == "9100"
    for name in ("worker-cpu", "worker-gpu"):
        assert find(docs, "Deployment", name)["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "9100"
    assert find(docs, "Deployment", "triton")["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "8002"
    # Processes that use the database wait for the migrate Job's schema.
    for name in ("jobs", "ingestion", "training", "generation", "detection", "worker-cpu", "worker-gpu"):
        assert [c["name"] for c in pod(find(docs, "Deployment", name))["initContainers"]] == ["wait-for-schema"]


def test_triton_reads_its_repository_from_the_bucket_as_compose_runs_it_otherwise():
    docs = render("base")
    triton = pod(find(docs, "Deployment", "triton"))["containers"][0]
    assert "--model-repository=$(TRITON_MODEL_REPOSITORY)" in triton["command"]
    env = {e["name"]: e for e in triton["env"]}
    settings = find(docs, "ConfigMap", env["TRITON_MODEL_REPOSITORY"]["valueFrom"]["configMapKeyRef"]["name"])
    assert settings["data"]["TRITON_MODEL_REPOSITORY"].startswith("s3://")
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"} <= set(env)
    rest = [a for a in compose()["triton"]["entrypoint"] if not a.startswith("--model-repository=")]
    assert [a for a in triton["command"] if not a.startswith("--model-repository=")] == rest
    assert find(docs, "Service", "triton")["spec"]["ports"][0]["port"] == 8001
    assert settings["data"]["TERRAFAKE_TRITON_URL"] == compose()["jobs"]["environment"]["TERRAFAKE_TRITON_URL"]
    dev = find(render("overlays/dev"), "ConfigMap", find(render("overlays/dev"), "Deployment", "triton")
               ["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]["configMapKeyRef"]["name"])  # fmt: skip
    assert dev["data"]["TRITON_MODEL_REPOSITORY"] == "s3://minio:9000/terrafake/triton/models"
    # Export jobs publish Triton models to triton/models/ under TERRAFAKE_STORAGE_URL: the same place.
    assert settings["data"]["TRITON_MODEL_REPOSITORY"] == settings["data"]["TERRAFAKE_STORAGE_URL"] + "/triton/models"
    assert f"--model-repository={dev['data']['TRITON_MODEL_REPOSITORY']}" in compose()["triton"]["entrypoint"]


def test_the_door_routes_to_the_services_with_compose_template_and_upstreams():
    docs = render("base")
    assert (K8S / "base/terrafake.conf.template").read_bytes() == (
        ROOT / "infra/nginx/templates/terrafake.conf.template").read_bytes(), "copy the template into infra/k8s/base"
    door = pod(find(docs, "Deployment", "terrafake-door"))
    env = {e["name"]: e["value"] for e in door["containers"][0]["env"]}
    assert env == compose()["door"]["environment"]
    for name in ("jobs", "ingestion", "training", "generation", "detection"):
        host, port = env[f"TERRAFAKE_{name.upper()}_UPSTREAM"].split(":")
        assert find(docs, "Service", host)["spec"]["ports"][0]["port"] == int(port)
    template = find(docs, "ConfigMap", door["volumes"][0]["configMap"]["name"])
    assert template["data"]["terrafake.conf.template"] == (ROOT / "infra/nginx/templates/terrafake.conf.template").read_text()


def test_the_dev_overlay_adds_postgres_redis_and_minio_with_the_bucket():
    base = {(d["kind"], d["metadata"]["name"]) for d in render("base")}
    dev = render("overlays/dev")
    added = {(d["kind"], d["metadata"]["name"]) for d in dev} - base
    for name in ("postgres", "redis", "minio"):
        assert ("StatefulSet", name) in added and ("Service", name) in added, name
        image = pod(find(dev, "StatefulSet", name))["containers"][0]["image"]
        assert image == compose()[name]["image"], name
    bucket = find(dev, "Job", "minio-bucket")
    assert "mc mb --ignore-existing store/terrafake" in " ".join(pod(bucket)["containers"][0]["command"])
    assert pod(bucket)["containers"][0]["image"] == compose()["minio-bucket"]["image"]
    assert not any(kind == "StatefulSet" for kind, _ in base), "the base keeps its stores outside"


@pytest.mark.parametrize("path", ["base", "overlays/dev"])
def test_built_in_kinds_match_the_kubernetes_schemas(path):
    kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    from kubernetes_validate.utils import SchemaNotFoundError

    checked = set()
    for doc in render(path):
        try:
            # The oldest release the manifests claim to support (infra/k8s/README.md).
            kubernetes_validate.validate(doc, "1.29.0", strict=True)
            checked.add(doc["kind"])
        except SchemaNotFoundError:
            assert doc["apiVersion"].startswith("keda.sh/"), doc["kind"]  # a CRD: no bundled schema
    assert {"Deployment", "Service", "Job", "HorizontalPodAutoscaler", "PodDisruptionBudget"} <= checked
