"""Fixtures: the example report, written to a temporary file and parsed back."""

from __future__ import annotations

import pytest

from shared.report import write_report
from tests.shared.report.example import full_report
from tests.shared.report.parse import parse_report


@pytest.fixture(scope="module")
def report():
    return full_report()


@pytest.fixture(scope="module")
def written(report, tmp_path_factory):
    path = write_report(report, tmp_path_factory.mktemp("report") / "demo" / "report.html")
    return parse_report(path.read_text(encoding="utf-8"))
