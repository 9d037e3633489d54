"""Watching what the served detectors see: the inference log, drift references and drift findings.

`inference_log` records every detection (through a batching writer thread) and enforces the
retention; `drift` holds the statistics (KS, PSI) that compare a window of the log with the
reference a detector's evaluation stored; `store` keeps references and findings.
"""
