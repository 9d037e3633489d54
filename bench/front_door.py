"""What the front door costs: the split services behind nginx against the same services called directly.

    PYTHONPATH=. .venv/bin/python -m bench.front_door                    # latency and a 200 MB upload
    PYTHONPATH=. .venv/bin/python -m bench.front_door --watch-seconds 600  # and a 10-minute WatchJob

A fresh local stack (Postgres, Redis, workers), the five services as separate processes and Debian's
nginx in front of them (shared.stack.door, the template compose uses). Reports, in one run:
- unary latency, direct to the service and through the door, interleaved call by call: health
  Check (no database) and GetJob (authenticated, one query); p50 / p90 and the p50 added by the door;
- a --upload-mb upload (a random-byte file, staged only) through the door: the RPC's outcome, its
  throughput, and nginx's resident memory (master and workers) sampled every 20 ms during it
  against before it: flat means the proxy streams rather than buffers;
- with --watch-seconds: one WatchJob held open through the door on a diagnostic job of that length,
  and whether the stream was cut before the job ended.

Prints the tables and writes bench/results/front_door.{json,txt}.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

from bench._common import admin_token, local_stack, machine_info, machine_line, percentile, table, write_results


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=2000, help="unary calls per path and method (default 2000)")
    p.add_argument("--upload-mb", type=int, default=200)
    p.add_argument("--watch-seconds", type=float, default=0, help="hold a WatchJob this long (0: skip)")
    return p.parse_args(argv)


def _latencies(direct, door, calls: int) -> dict:
    """{path: [seconds]} for `calls` interleaved calls of each callable pair."""
    out = {"direct": [], "door": []}
    for name, fn in (("direct", direct), ("door", door)):  # warm both channels
        for _ in range(50):
            fn()
    for _ in range(calls):
        for name, fn in (("direct", direct), ("door", door)):
            start = time.perf_counter()
            fn()
            out[name].append(time.perf_counter() - start)
    return out


def _rss_mb(pids) -> float:
    import psutil

    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def run(args) -> dict:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from shared.client import ClientError, connect
    from shared.stack.door import SplitDeployment
    from terrafake.jobs.v1 import jobs_service_pb2 as jobs_pb

    limit = str((args.upload_mb + 16) * 2**20)
    results: dict = {"machine": machine_info(), "args": vars(args)}
    with local_stack(env={"TERRAFAKE_LIMIT_MAX_UPLOAD_BYTES": limit}) as stack:
        token = admin_token(stack)
        work = stack.settings.home / "door"
        with SplitDeployment(stack.child_env(), work) as split:
            jobs_direct = f"127.0.0.1:{split.service_ports['jobs']}"
            rows = []
            for method in ("Check", "GetJob"):
                channels = {name: grpc.insecure_channel(addr) for name, addr in
                            (("direct", jobs_direct), ("door", split.address))}  # fmt: skip
                if method == "Check":
                    calls = {name: (lambda s=health_pb2_grpc.HealthStub(ch): s.Check(health_pb2.HealthCheckRequest()))
                             for name, ch in channels.items()}  # fmt: skip
                else:
                    clients = {name: connect(addr, token) for name, addr in
                               (("direct", jobs_direct), ("door", split.address))}  # fmt: skip
                    job = clients["direct"].start_diagnostic_job(seconds=0, steps=1)
                    calls = {name: (lambda c=c: c._jobs.GetJob(jobs_pb.GetJobRequest(job_id=job.id), metadata=c.metadata))
                             for name, c in clients.items()}  # fmt: skip
                lat = _latencies(calls["direct"], calls["door"], args.calls)
                d50, o50 = percentile(lat["direct"], 50) * 1e3, percentile(lat["door"], 50) * 1e3
                rows.append({"method": method, "direct_p50_ms": d50, "door_p50_ms": o50,
                             "direct_p90_ms": percentile(lat["direct"], 90) * 1e3,
                             "door_p90_ms": percentile(lat["door"], 90) * 1e3,
                             "added_p50_ms": o50 - d50, "ratio_p50": o50 / d50})  # fmt: skip
                for ch in channels.values():
                    ch.close()
            results["latency"] = rows
            print(table(["method", "direct p50 ms", "door p50 ms", "direct p90 ms", "door p90 ms", "added p50 ms",
                         "door / direct"],
                        [[r["method"], r["direct_p50_ms"], r["door_p50_ms"], r["direct_p90_ms"], r["door_p90_ms"],
                          r["added_p50_ms"], r["ratio_p50"]] for r in rows], digits=3))  # fmt: skip

            # The upload: random bytes (staged only: what is measured is the transfer through the proxy).
            client = connect(split.address, token)
            dataset = client.create_dataset(f"door-bench-{int(time.time())}")
            payload = os.urandom(args.upload_mb * 2**20)
            pids = split.nginx_pids()
            before = _rss_mb(pids)
            peak, stop = [before], threading.Event()

            def sample():
                while not stop.wait(0.02):
                    peak.append(_rss_mb(pids))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            start = time.perf_counter()
            try:
                reply = client.upload([("big.bin", payload)], {"dataset_id": dataset.id}, stage_only=True)
                ok = reply.bytes_received == len(payload)
                outcome = f"{'ok' if ok else 'SHORT'}: {reply.bytes_received / 2**20:.0f} MB received by the service"
            except ClientError as err:
                outcome = f"{err.code.name}: {err.message[:120]}"
            seconds = time.perf_counter() - start
            stop.set()
            sampler.join()
            results["upload"] = {"mb": args.upload_mb, "outcome": outcome, "seconds": seconds,
                                 "mb_per_s": args.upload_mb / seconds, "nginx_rss_before_mb": before,
                                 "nginx_rss_peak_mb": max(peak), "samples": len(peak)}  # fmt: skip
            u = results["upload"]
            print(table(["upload MB", "outcome", "seconds", "MB/s", "nginx RSS before MB", "nginx RSS peak MB"],
                        [[u["mb"], u["outcome"], u["seconds"], u["mb_per_s"], u["nginx_rss_before_mb"],
                          u["nginx_rss_peak_mb"]]]))  # fmt: skip

            if args.watch_seconds:
                steps = max(1, int(args.watch_seconds // 5))
                job = client.start_diagnostic_job(seconds=args.watch_seconds, steps=steps)
                start, events, error = time.monotonic(), 0, ""
                try:
                    # One stream, no reconnects: a cut shows as an error here.
                    for _ in client._jobs.WatchJob(jobs_pb.WatchJobRequest(job_id=job.id), metadata=client.metadata):
                        events += 1
                except grpc.RpcError as err:
                    error = f"{err.code().name}: {err.details()}"
                held = time.monotonic() - start
                final = client.get_job(job.id)
                results["watch"] = {"seconds_held": held, "events": events, "error": error,
                                    "job_state": final.state, "cut": bool(error)}  # fmt: skip
                print(table(["WatchJob held s", "events", "cut", "error"], [[held, events, bool(error), error or "-"]]))
            client.close()
    return results


def main(argv=None) -> None:
    args = parse_args(argv)
    info = machine_info()
    print(machine_line(info))
    results = run(args)
    path = write_results("front_door", results)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
