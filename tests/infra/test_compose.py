"""docker-compose.yml: every part the GPU deployment needs, wired with health checks."""

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
    # The model repository is shared between export jobs and Triton.
    repo_arg = next(a for a in services["triton"]["entrypoint"] if a.startswith("--model-repository="))
    assert repo_arg.endswith("/var/lib/terrafake/triton/models")
    assert "terrafake-data:/var/lib/terrafake" in services["triton"]["volumes"]
    assert services["jobs"]["environment"]["TERRAFAKE_TRITON_URL"] == "triton:8001"
