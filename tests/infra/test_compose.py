"""docker-compose.yml: every part the GPU deployment needs, wired with health checks."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_has_the_whole_platform():
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    for name in ("postgres", "redis", "triton", "jobs", "ingestion", "training", "generation", "detection",
                 "worker-cpu", "worker-gpu", "flower", "migrate"):  # fmt: skip
        assert name in services, name

    def gpu(service):
        devices = services[service].get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
        return any("gpu" in d.get("capabilities", []) for d in devices)

    assert gpu("triton") and gpu("worker-gpu") and not gpu("worker-cpu")
    for name in ("postgres", "redis", "triton", "jobs", "ingestion", "training", "generation", "detection"):
        assert "healthcheck" in services[name], name
    assert "--queues" in services["worker-gpu"]["command"] and "gpu" in services["worker-gpu"]["command"]
    # One image for every terrafake process, built from infra/; Triton is the official image.
    assert services["jobs"]["build"]["dockerfile"] == "infra/Dockerfile"
    assert services["triton"]["image"].startswith("nvcr.io/nvidia/tritonserver:")
    assert sorted(p.name for p in (ROOT / "infra").rglob("Dockerfile*")) == ["Dockerfile"]
    # Triton reads the model repository export jobs publish to the bucket (triton/models/ under
    # TERRAFAKE_STORAGE_URL), at MinIO's endpoint, with MinIO's credentials; no volume is shared.
    repo_arg = next(a for a in services["triton"]["entrypoint"] if a.startswith("--model-repository="))
    assert repo_arg == "--model-repository=s3://minio:9000/terrafake/triton/models"
    env = services["jobs"]["environment"]
    assert (env["TERRAFAKE_STORAGE_URL"], env["AWS_ENDPOINT_URL"]) == ("s3://terrafake", "http://minio:9000")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        assert services["triton"]["environment"][key] == env[key], key
    assert services["triton"]["depends_on"]["minio-bucket"]["condition"] == "service_completed_successfully"
    assert "triton/models/" in " ".join(services["minio-bucket"]["command"])  # the prefix exists before Triton starts
    assert not services["triton"].get("volumes")
    assert services["jobs"]["environment"]["TERRAFAKE_TRITON_URL"] == "triton:8001"


def test_the_door_is_the_only_published_grpc_port_and_routes_to_every_service():
    from shared.stack.door import SPLIT_SERVICES

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    door = services["door"]
    assert door["ports"] == ["50051:50051"]
    for name in SPLIT_SERVICES:
        assert "ports" not in services[name], f"{name} is published beside the door"
        host, port = door["environment"][f"TERRAFAKE_{name.upper()}_UPSTREAM"].split(":")
        assert host == name and services[name]["environment"]["TERRAFAKE_GRPC_ADDRESS"] == f"0.0.0.0:{port}"
        assert door["depends_on"][name]["condition"] == "service_healthy"
    # The template the image's envsubst fills is the one the split test runs.
    mount = next(v for v in door["volumes"] if v.endswith(":/etc/nginx/templates:ro"))
    assert (ROOT / mount.split(":")[0]).resolve() == (ROOT / "infra/nginx/templates").resolve()
    assert "--reflect-all" in services["jobs"]["command"]


def test_the_web_console_has_its_own_container_behind_the_door_with_a_health_check():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    web = services["web"]
    command = web["command"]
    assert command[:3] == ["python", "-m", "services.web"] and command[command.index("--grpc-address") + 1] == "door:50051"
    assert web["ports"] == ["8080:8080"] and web["depends_on"]["door"]["condition"] == "service_healthy"
    assert "/healthz" in " ".join(web["healthcheck"]["test"])


def test_prometheus_scrapes_every_terrafake_process_and_the_dashboard_uses_real_metrics():
    import json

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    scrape = yaml.safe_load((ROOT / "infra/prometheus/prometheus.yml").read_text())
    targets = {t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    processes = [n for n, s in services.items() if s.get("command", [])[:3] in (["python", "-m", "services.server"],
                                                                                 ["python", "-m", "workers.main"])]  # fmt: skip
    assert len(processes) == 7  # five services, two workers
    for name in processes:
        env = {**services[name].get("environment", {})}
        assert env.get("TERRAFAKE_METRICS_PORT") == "9100" and f"{name}:9100" in targets, name
        # /metrics listens on the process's gRPC host: loopback (the default) cannot be scraped from Prometheus.
        assert env.get("TERRAFAKE_GRPC_ADDRESS", "").startswith("0.0.0.0:"), f"{name} serves /metrics on loopback only"
    assert "triton:8002" in targets
    assert "./infra/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in services["prometheus"]["volumes"]
    dashboard = json.loads((ROOT / "infra/grafana/dashboards/terrafake.json").read_text())
    used = {m for p in dashboard["panels"] for t in p["targets"] for m in re.findall(r"terrafake_[a-z_]+", t["expr"])}
    defined = "".join(p.read_text() for top in ("shared", "services", "workers") for p in (ROOT / top).rglob("*.py")
                      if "shared/api" not in p.as_posix())  # fmt: skip
    for name in used:
        base = re.sub(r"_(total|bucket|sum|count)$", "", name)
        assert f'"{base}"' in defined, f"the dashboard plots {name}, which no process exports"


def test_every_terrafake_process_stores_in_the_minio_bucket_the_one_shot_creates():
    from shared.config import Settings

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert "healthcheck" in services["minio"] and services["minio-bucket"]["restart"] == "no"
    assert services["minio-bucket"]["depends_on"]["minio"]["condition"] == "service_healthy"
    bucket_command = " ".join(services["minio-bucket"]["command"])
    assert "mc mb --ignore-existing store/terrafake" in bucket_command
    # The one shot logs in with the credentials MinIO was started with.
    assert services["minio-bucket"]["environment"] == services["minio"]["environment"]
    processes = [n for n, s in services.items() if s.get("command", [])[:1] == ["python"]
                 or s.get("command", [])[:3] == ["celery", "--broker=redis://redis:6379/0", "flower"]]  # fmt: skip
    assert {"jobs", "ingestion", "training", "generation", "detection", "worker-cpu", "worker-gpu", "web"} <= set(processes)
    for name in processes:
        env = services[name]["environment"]
        settings = Settings.from_env({k: str(v) for k, v in env.items()})
        assert settings.storage_url == "s3://terrafake", name
        assert env["AWS_ENDPOINT_URL"] == "http://minio:9000", name
        assert env["AWS_ACCESS_KEY_ID"] == services["minio"]["environment"]["MINIO_ROOT_USER"], name
        assert env["AWS_SECRET_ACCESS_KEY"] == services["minio"]["environment"]["MINIO_ROOT_PASSWORD"], name
    # Everything that starts from the app template waits for the bucket (the others wait for migrate, which does).
    assert services["migrate"]["depends_on"]["minio-bucket"]["condition"] == "service_completed_successfully"


def test_compose_file_is_valid_for_docker_compose():
    import shutil
    import subprocess

    import pytest

    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    done = subprocess.run([tool, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
