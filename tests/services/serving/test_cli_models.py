"""The model commands of the CLI, as a user runs them, against the real stack and Triton."""

import json
import os
import subprocess
import sys

from PIL import Image

from tests.services.serving.test_serving import served  # noqa: F401  (module fixture)


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "shared.cli.main", *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=timeout)  # fmt: skip


def test_models_generate_detect_colorize_from_the_cli(served, tmp_path):
    gen, det = served[0], served[1]
    listed = run_cli("models", "list")
    assert listed.returncode == 0 and gen["model_name"] in listed.stdout and det["model_name"] in listed.stdout
    versions = run_cli("models", "versions", det["model_name"], "--stage", "production")
    assert versions.returncode == 0 and "production" in versions.stdout

    out_dir = tmp_path / "gen"
    made = run_cli("generate", "--model", gen["model_name"], "--count", "3", "--seed", "7", "--steps", "5",
                   "-o", str(out_dir))  # fmt: skip
    assert made.returncode == 0, made.stderr
    files = sorted(out_dir.glob("*.png"))
    assert [f.name for f in files] == ["generated-7.png", "generated-8.png", "generated-9.png"]
    assert Image.open(files[0]).size == (32, 32)

    heat_dir = tmp_path / "heat"
    verdicts = run_cli("--json", "detect", "--model", det["model_name"], *map(str, files), "--heatmaps", str(heat_dir))
    assert verdicts.returncode == 0, verdicts.stderr
    rows = json.loads(verdicts.stdout)
    assert len(rows) == 3 and all(r["label"] in ("real", "generated", "uncertain") for r in rows)
    assert all(Image.open(r["heatmap"]).size == (32, 32) for r in rows)

    bad = run_cli("detect", "--model", "nobody", str(files[0]))
    assert bad.returncode == 1 and "FAILED_PRECONDITION" in bad.stderr
    missing = run_cli("detect", "--model", det["model_name"], str(tmp_path / "nope.png"))
    assert missing.returncode == 2 and "is not a file" in missing.stderr
    no_model = run_cli("colorize", str(files[0]), "-o", str(tmp_path / "c.png"), "--model", "no-colorizer")
    assert no_model.returncode == 1 and "FAILED_PRECONDITION" in no_model.stderr
