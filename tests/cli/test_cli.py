"""The `terrafake` command as a user runs it, against the real stack."""

import json
import os
import subprocess
import sys




def run_cli(*args, env=None, timeout=120):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "shared.cli.main", *args],
        capture_output=True, text=True, env=full_env, timeout=timeout,
    )  # fmt: skip


def test_diagnostic_job_watched_to_completion_with_progress_bar(stack):
    out = run_cli("jobs", "diagnostic", "--seconds", "2", "--steps", "4")
    assert out.returncode == 0, out.stderr
    assert "state     SUCCEEDED" in out.stdout
    assert "started job" in out.stderr
    bars = [line for line in out.stderr.splitlines() if line.startswith("[")]
    assert bars and "100.0%" in bars[-1] and "SUCCEEDED" in bars[-1]
    # Progress arrived while the job ran, not only at the end.
    assert any("RUNNING" in b and ("50.0%" in b or "75.0%" in b) for b in bars)


def test_failed_job_exits_1_and_shows_the_error(stack):
    out = run_cli("jobs", "diagnostic", "--seconds", "0.2", "--steps", "2", "--fail-at-step", "1")
    assert out.returncode == 1
    assert "simulated failure at step 1 of 2" in out.stdout


def test_json_output_for_scripts(stack):
    out = run_cli("--json", "jobs", "diagnostic", "--seconds", "0", "--steps", "1", "--no-watch")
    assert out.returncode == 0, out.stderr
    job = json.loads(out.stdout)
    watched = run_cli("--json", "jobs", "watch", job["id"])
    events = [json.loads(line) for line in watched.stdout.splitlines()]
    assert events[-1]["state"] == "JOB_STATE_SUCCEEDED" and events[-1]["job"]["id"] == job["id"]
    listed = json.loads(run_cli("--json", "jobs", "list", "--state", "succeeded", "--page-size", "5").stdout)
    assert 1 <= len(listed["jobs"]) <= 5
    got = json.loads(run_cli("--json", "jobs", "get", job["id"]).stdout)
    assert got["state"] == "JOB_STATE_SUCCEEDED"


def test_bad_arguments_and_errors_have_clear_messages(stack):
    out = run_cli("jobs", "diagnostic", "--steps", "-3")
    assert out.returncode == 1
    assert "INVALID_ARGUMENT" in out.stderr and "steps must be between" in out.stderr
    out = run_cli("jobs", "get", "00000000-0000-0000-0000-000000000000")
    assert out.returncode == 1 and "NOT_FOUND" in out.stderr
    out = run_cli("jobs", "list", "--state", "sleeping")
    assert out.returncode == 2 and "unknown state" in out.stderr
    out = run_cli("jobs", "diagnostic", "--queue", "tpu")
    assert out.returncode == 2  # argparse rejects it


def test_unreachable_server_exits_3(stack):
    out = run_cli("--address", "127.0.0.1:1", "jobs", "list", timeout=60)
    assert out.returncode == 3
    assert "is the stack running" in out.stderr


def test_wrong_token_is_reported(stack):
    out = run_cli("--token", "tfk_wrong", "jobs", "list")
    assert out.returncode == 1 and "UNAUTHENTICATED" in out.stderr


def test_tokens_from_the_cli(stack):
    out = run_cli("--json", "token", "create", "ci-reader", "--role", "read")
    assert out.returncode == 0, out.stderr
    created = json.loads(out.stdout)
    assert created["token"].startswith("tfk_")
    reader_list = run_cli("--token", created["token"], "jobs", "list")
    assert reader_list.returncode == 0
    denied = run_cli("--token", created["token"], "jobs", "diagnostic", "--seconds", "0")
    assert denied.returncode == 1 and "PERMISSION_DENIED" in denied.stderr
    assert run_cli("token", "revoke", created["id"]).returncode == 0
    names = json.loads(run_cli("--json", "token", "list").stdout)
    assert any(t["name"] == "ci-reader" and t["revoked_at"] for t in names)


def test_stack_status_reports_components(stack):
    out = run_cli("stack", "status")
    assert out.returncode == 0, out.stdout + out.stderr
    for name in ("postgres", "redis", "grpc", "worker-cpu", "worker-gpu"):
        assert name in out.stdout
    assert "serving" in out.stdout


def test_datasets_and_ingest_from_the_cli(stack, tmp_path):
    import uuid

    from shared.assets import naip_scenes

    name = f"cli-{uuid.uuid4().hex[:8]}"
    created = json.loads(run_cli("--json", "datasets", "create", name, "--description", "from the CLI").stdout)
    ds = created["id"]
    scenes = [str(p) for p in naip_scenes()[:2]]
    out = run_cli("ingest", "upload", ds, *scenes, "--tile-size", "256", "--label", "authenticity=real")
    assert out.returncode == 0, out.stderr
    assert "images added 12" in out.stdout  # 2 scenes x (3 x 2) tiles of 256 px
    assert "state     SUCCEEDED" in out.stdout
    listed = run_cli("datasets", "images", "--dataset", ds)
    assert "12 of 12 images" in listed.stdout and "authenticity=real" in listed.stdout
    version = run_cli("datasets", "version", ds, "--split", "0.5,0,0.5", "--seed", "3")
    assert version.returncode == 0 and "version 1" in version.stdout and "12 images" in version.stdout
    image_id = json.loads(run_cli("--json", "datasets", "images", "--dataset", ds).stdout)["images"][0]["id"]
    target = tmp_path / "tile.png"
    assert run_cli("datasets", "download", image_id, "-o", str(target)).returncode == 0
    import hashlib

    assert hashlib.sha256(target.read_bytes()).hexdigest() == image_id
    bad = run_cli("ingest", "xyz", ds, "--template", "http://x/{z}/{x}/{y}", "--bbox", "1,2,3", "--zoom", "3")
    assert bad.returncode == 2 and "--bbox must be 4" in bad.stderr
    missing = run_cli("ingest", "geotiff", ds, "/etc/hostname")
    assert missing.returncode == 1 and "PERMISSION_DENIED" in missing.stderr


def test_the_generator_zoo_from_the_cli(stack):
    import uuid

    from shared.assets import naip_scenes

    ds = json.loads(run_cli("--json", "datasets", "create", f"zoo-cli-{uuid.uuid4().hex[:8]}").stdout)["id"]
    scenes = [str(p) for p in naip_scenes()[:2]]  # two scenes: one to fit the zoo on (TRAIN), one held out
    out = run_cli("ingest", "upload", ds, *scenes, "--tile-size", "256", "--label", "authenticity=real")
    assert out.returncode == 0, out.stderr
    version = json.loads(run_cli("--json", "datasets", "version", ds, "--split", "0.5,0,0.5").stdout)["id"]
    bad = run_cli("zoo", ds, "--dataset-version", version, "--families", "autoencoder,nope")
    assert bad.returncode == 1 and "INVALID_ARGUMENT" in bad.stderr and "unknown zoo family ['nope']" in bad.stderr
    made = run_cli("zoo", ds, "--dataset-version", version, "--families", "interpolation", "--max-images", "4")
    assert made.returncode == 0, made.stderr
    assert "state     SUCCEEDED" in made.stdout and "images_added" in made.stdout
    fakes = run_cli("datasets", "images", "--dataset", ds, "--label", "family=interpolation")
    assert "4 of 4 images" in fakes.stdout


def test_names_where_ids_are_expected(stack, tmp_path):
    import uuid

    from shared.assets import naip_scenes

    name = f"named-{uuid.uuid4().hex[:8]}"
    assert run_cli("datasets", "create", name).returncode == 0
    out = run_cli("ingest", "upload", name, str(naip_scenes()[0]), "--tile-size", "256", "--resize-to", "32",
                  "--label", "authenticity=real")  # fmt: skip
    assert out.returncode == 0 and "state     SUCCEEDED" in out.stdout, out.stderr
    for _ in range(2):
        assert run_cli("datasets", "version", name, "--split", "0.5,0,0.5", "--grouping", "image").returncode == 0
    versions = run_cli("datasets", "versions", name)
    assert versions.returncode == 0 and "version 1 (" in versions.stdout and "version 2 (" in versions.stdout
    listed = run_cli("datasets", "images", "--version", f"{name}@1")
    assert listed.returncode == 0 and "6 of 6 images" in listed.stdout, listed.stderr
    # A model trained from NAME (its newest version), then named as NAME@1 and NAME:staging.
    model = f"m-{uuid.uuid4().hex[:6]}"
    out = run_cli("train", "generator", "--dataset-version", name, "--architecture", "ddpm-unet-tiny", "--steps", "2",
                  "--model-name", model, "--param", "batch_size=4", timeout=300)  # fmt: skip
    assert out.returncode == 0 and "state     SUCCEEDED" in out.stdout, out.stderr
    out = run_cli("models", "export", f"{model}@1", timeout=300)
    assert out.returncode == 0, out.stderr
    assert run_cli("models", "promote", f"{model}@1", "--stage", "staging").returncode == 0
    out = run_cli("generate", "--version", f"{model}:staging", "--count", "1", "--steps", "2", "-o", str(tmp_path))
    assert out.returncode == 0 and len(list(tmp_path.glob("*.png"))) == 1, out.stderr
    # Names that match nothing say what exists or how to look.
    for args, needle in [
        (("datasets", "versions", "no-such-dataset"), "no dataset named 'no-such-dataset'"),
        (("datasets", "images", "--version", f"{name}@9"), "has no version 9; it has [1, 2]"),
        (("models", "promote", f"{model}@7", "--stage", "staging"), f"model '{model}' has no version 7"),
        (("generate", "--version", f"{model}:production", "-o", str(tmp_path)), "has no production version"),
        (("generate", "--version", f"{model}:gold", "-o", str(tmp_path)), "unknown stage 'gold'"),
    ]:
        out = run_cli(*args)
        assert out.returncode == 1 and needle in out.stderr, (args, out.stderr)
