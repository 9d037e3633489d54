"""Benchmarks: one script per question, run as `.venv/bin/python -m bench.<name>`; see bench/README.md.

Each script measures the platform and a reference side by side in one run on
one machine, prints a table and writes bench/results/<name>.json. They are
scripts that report numbers, not tests that assert them.
"""
