"""How long a Prometheus scrape of each terrafake process takes.

    PYTHONPATH=. .venv/bin/python -m bench.metrics [--scrapes 100] [--jobs 300]

A fresh local stack (local inference backend, a cpu and a gpu worker). First `--jobs` diagnostic
jobs run, so the job tables, RPC series and worker files hold something; then each /metrics
endpoint (the gRPC server, whose scrape also counts jobs in Postgres, and each worker, whose scrape
sums the pool's multiprocess files) is fetched `--scrapes` times, one at a time. Target (issue #18):
a scrape under 50 ms. Prints p50 / p95 / max and the response size; writes
bench/results/metrics.{json,txt}.
"""

from __future__ import annotations

import argparse
import time
import urllib.request

from bench._common import admin_token, local_stack, machine_info, machine_line, percentile, table, write_results

TARGET_MS = 50.0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scrapes", type=int, default=100)
    p.add_argument("--jobs", type=int, default=300)
    return p.parse_args(argv)


def main(argv=None) -> int:
    from shared.client import connect

    args = parse_args(argv)
    info = machine_info()
    print(machine_line(info), flush=True)
    rows, raw = [], {}
    with local_stack(queues=("cpu", "gpu"), env={"TERRAFAKE_INFERENCE_BACKEND": "local"}) as stack:
        with connect(stack.grpc_address, admin_token(stack)) as client:
            jobs = [client.start_diagnostic_job(seconds=0, steps=5, queue=("cpu", "gpu")[i % 2])
                    for i in range(args.jobs)]  # fmt: skip
            for job in jobs:
                client.wait_job(job.id, timeout=600)
        components = stack.status()["components"]
        for name in ("grpc", "worker-cpu", "worker-gpu"):
            url = components[name]["metrics"]
            size = len(urllib.request.urlopen(url, timeout=10).read())  # warm
            seconds = []
            for _ in range(args.scrapes):
                t0 = time.perf_counter()
                urllib.request.urlopen(url, timeout=10).read()
                seconds.append(time.perf_counter() - t0)
            ms = [s * 1000 for s in seconds]
            raw[name] = seconds
            p95 = percentile(ms, 95)
            rows.append([name, len(ms), size, percentile(ms, 50), p95, max(ms),
                         "met" if p95 < TARGET_MS else "MISSED"])  # fmt: skip
    text = table(["process", "scrapes", "bytes", "p50 ms", "p95 ms", "max ms", f"p95 < {TARGET_MS:g} ms"], rows)
    print(text)
    path = write_results("metrics", {"machine": info, "arguments": vars(args), "seconds": raw, "text": text})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
