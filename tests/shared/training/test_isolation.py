"""shared.training must not import service code: a Celery task calls it with in-memory data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

CHECK = """
import sys
import shared.training
forbidden = ("grpc", "psycopg", "celery", "redis", "services", "workers", "terrafake")
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(forbidden))
allowed = ("shared.models", "shared.training")
project = sorted(m for m in sys.modules if m.startswith("shared.") and not m.startswith(allowed))
print(loaded, project)
sys.exit(1 if loaded or project else 0)
"""


def test_training_package_imports_no_service_code():
    result = subprocess.run([sys.executable, "-c", CHECK], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
