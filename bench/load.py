"""Load and faults: concurrent Detect and DetectStream clients through a gRPC server restart and a worker kill.

    PYTHONPATH=. .venv/bin/python -m bench.load [--clients 8] [--seconds 120]

A fresh local stack (embedded Postgres and Redis, the gRPC server, a cpu worker, all under supervisord;
the local inference backend, so no Triton) in a temporary home:

1. a detector (detector-small at --input-size, random init: the load does not depend on the weights)
   is registered and promoted to PRODUCTION with PromoteModel;
2. --clients threads, each with its own channel (shared.client.connect, its default retry policy),
   alternate Detect (one real NAIP crop, PNG) and DetectStream (--stream-batch crops, sent as a list,
   so the client may send what is unanswered again) for --seconds;
3. at a third of the run the gRPC server's process group is SIGKILLed; supervisord starts it again;
4. at half the run a diagnostic job is submitted to the cpu queue and, once RUNNING, the cpu worker
   is SIGKILLed: the job supervisor requeues it when its lease runs out and the restarted worker
   finishes it;
5. the gRPC server's resident memory (psutil, whichever pid supervisord runs it as) is sampled
   every second.

Reports p50/p99 latency and errors by status code per call kind and phase (before the restart,
overlapping it, after it), what the clients saw of the restart (errors against added latency), the
server's memory over time and its growth after warm-up (per server process), and the killed job's
fate (state, attempts, how many times it succeeded). Targets (issue #18): no failed calls, no lost or
duplicated job, server memory growth under 5% after warm-up. Writes bench/results/load.json.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import psutil

from bench._common import (
    Deadline,
    admin_token,
    fmt,
    local_stack,
    log_tail,
    machine_info,
    machine_line,
    percentile,
    table,
    verdict,
    write_results,
)

MODEL_NAME = "bench-load-detector"
MEMORY_GROWTH_TARGET = 0.05
WARMUP_S = 10.0  # a server process's first seconds: imports, the model load, allocator growth


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=8, help="concurrent clients, one thread and channel each (default 8)")
    p.add_argument("--seconds", type=float, default=120.0, help="how long the clients call (default 120)")
    p.add_argument("--stream-batch", type=int, default=8, help="images per DetectStream call (default 8)")
    p.add_argument("--input-size", type=int, default=64, help="crop size and detector input size (default 64)")
    p.add_argument("--images", type=int, default=64, help="distinct NAIP crops cycled through (default 64)")
    p.add_argument("--job-seconds", type=float, default=6.0, help="length of the job whose worker is killed (default 6)")
    return p.parse_args(argv)


@dataclass
class Call:
    kind: str  # "Detect" or "DetectStream"
    start: float
    end: float
    code: str  # "OK" or the status code name (or exception type) it failed with
    images: int


# --- the detector -----------------------------------------------------------------------------------


def register_and_promote(stack, client, input_size: int) -> str:
    """Register detector-small (random init) in the stack's registry and promote it; returns its version id."""
    import torch

    from shared.db import Database
    from shared.models import create_model, save_model
    from shared.registry.store import RegistryStore
    from terrafake.training.v1 import model_pb2, training_service_pb2 as tr_pb

    torch.manual_seed(0)
    model = create_model("detector-small", input_size=input_size)
    vid = uuid.uuid4()
    model_dir = stack.home / "models" / str(vid)
    save_model(model, model_dir)
    db = Database(stack.database_url, max_size=2)
    try:
        RegistryStore(db).register(
            model_name=MODEL_NAME, kind="DETECTOR", architecture="detector-small", training_job_id=None,
            dataset_version_id=None, config=dict(model.config), hyperparameters={}, metrics={}, history=[],
            artifacts={"model_dir": str(model_dir), "weights": str(model_dir / "model.safetensors"),
                       "config": str(model_dir / "config.json")},
            calibration=None, description="bench.load: random init, for load only", version_id=vid,
        )  # fmt: skip
    finally:
        db.close()
    client.call(client.training.PromoteModel, tr_pb.PromoteModelRequest(
        model_version_id=str(vid), stage=model_pb2.MODEL_STAGE_PRODUCTION, reason="bench.load"))  # fmt: skip
    return str(vid)


# --- clients, memory, faults ----------------------------------------------------------------------------


def client_loop(i: int, address: str, token: str, pngs: list[bytes], batch: int, stop: threading.Event,
                calls: list[Call], lock: threading.Lock) -> None:  # fmt: skip
    from shared.client import ClientError, connect

    mine: list[Call] = []
    with connect(address, token) as client:
        n = i * 7
        while not stop.is_set():
            for kind in ("Detect", "DetectStream"):
                start, code, images = time.monotonic(), "OK", 1
                try:
                    if kind == "Detect":
                        client.detect(pngs[n % len(pngs)], model_name=MODEL_NAME)
                    else:
                        items = [(f"{n}-{k}", pngs[(n + k) % len(pngs)]) for k in range(batch)]
                        images = batch
                        answers = list(client.detect_stream(items, model_name=MODEL_NAME))
                        bad = [a for a in answers if a.HasField("error")]
                        if len(answers) != batch or bad:
                            code = f"ITEM_ERRORS({len(bad)} of {len(answers)}/{batch})"
                except ClientError as err:
                    code = err.code.name
                except Exception as err:  # anything else is an error of the client itself: counted, not hidden
                    code = type(err).__name__
                mine.append(Call(kind, start, time.monotonic(), code, images))
                n += batch
    with lock:
        calls.extend(mine)


def memory_sampler(stack, stop: threading.Event, samples: list[tuple[float, int | None, float | None]]) -> None:
    """(time, pid, RSS MiB) of the gRPC server once a second; pid None while it is not running."""
    while not stop.wait(1.0):
        rec = stack.process("grpc")
        rss = None
        if rec:
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(rec["pid"])
                if proc.status() != psutil.STATUS_ZOMBIE:  # killed, not yet reaped: no memory to speak of
                    rss = proc.memory_info().rss / 2**20
        samples.append((time.monotonic(), rec["pid"] if rec else None, rss))


def restart_server(stack) -> dict:
    """SIGKILL the gRPC server; returns when it is SERVING again: {killed, restarted, serving} (monotonic)."""
    from shared.stack import procs

    old = stack.process("grpc")
    procs.kill_hard(old)
    out = {"killed": time.monotonic(), "old_pid": old["pid"]}
    deadline = out["killed"] + 120
    while time.monotonic() < deadline:
        rec = stack.process("grpc")
        if "restarted" not in out and rec and rec["pid"] != old["pid"]:
            out["restarted"], out["new_pid"] = time.monotonic(), rec["pid"]
        if "restarted" in out and stack.healthy(timeout=0.5):
            out["serving"] = time.monotonic()
            return out
        time.sleep(0.1)
    raise TimeoutError("the gRPC server did not come back within 120 s")


def kill_worker_during_job(stack, client, job_seconds: float) -> dict:
    """Submit a diagnostic job, SIGKILL the cpu worker once the job runs; returns {job_id, submitted, killed}."""
    from shared.stack import procs
    from terrafake.jobs.v1 import job_pb2

    steps = max(2, int(job_seconds * 2))
    job = client.start_diagnostic_job(seconds=job_seconds, steps=steps, queue="cpu",
                                      idempotency_key=f"bench-load-{uuid.uuid4().hex}")  # fmt: skip
    out = {"job_id": job.id, "submitted": time.monotonic()}
    deadline = time.monotonic() + 60
    while client.get_job(job.id).state != job_pb2.JOB_STATE_RUNNING:
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job.id} did not start within 60 s")
        time.sleep(0.05)
    time.sleep(min(1.0, job_seconds / 4))  # into the job, with progress written
    procs.kill_hard(stack.process("worker-cpu"))
    out["killed"], out["killed_wall"] = time.monotonic(), time.time()
    return out


def job_outcome(stack, client, job_id: str, killed_wall: float, timeout: float) -> dict:
    """The killed job's end: its state, attempts, how many times it reached SUCCEEDED, and when (from its
    events in Postgres) it was requeued and finished, in seconds after the kill."""
    from shared.db import Database
    from terrafake.jobs.v1 import job_pb2

    job = client.wait_job(job_id, timeout=timeout)
    db = Database(stack.database_url, max_size=1)
    try:
        with db.connection() as conn:
            events = conn.execute("SELECT type, state, extract(epoch FROM at) AS at FROM job_events "
                                  "WHERE job_id = %s ORDER BY seq", (job_id,)).fetchall()  # fmt: skip
    finally:
        db.close()
    succeeded = [float(e["at"]) for e in events if e["type"] == "STATE_CHANGED" and e["state"] == "SUCCEEDED"]
    requeued = [float(e["at"]) for e in events if e["type"] == "REQUEUED"]
    return {"state": job_pb2.JobState.Name(job.state), "attempts": job.attempts, "times_succeeded": len(succeeded),
            "requeued": len(requeued),
            "requeued_after_s": requeued[0] - killed_wall if requeued else None,
            "finished_after_s": succeeded[-1] - killed_wall if succeeded else None}  # fmt: skip


# --- report -----------------------------------------------------------------------------------------------


def phase_of(call: Call, restart: dict) -> str:
    if call.end < restart["killed"]:
        return "before restart"
    if call.start > restart["serving"]:
        return "after restart"
    return "overlapping restart"


def summarise(calls: list[Call], restart: dict) -> tuple[list[list], dict]:
    rows, out = [], {}
    for phase in ("before restart", "overlapping restart", "after restart", "all"):
        for kind in ("Detect", "DetectStream"):
            mine = [c for c in calls if c.kind == kind and (phase == "all" or phase_of(c, restart) == phase)]
            if not mine:
                continue
            ok = [1000 * (c.end - c.start) for c in mine if c.code == "OK"]
            errors = Counter(c.code for c in mine if c.code != "OK")
            span = max(c.end for c in mine) - min(c.start for c in mine)
            entry = {"calls": len(mine), "ok": len(ok), "errors": dict(errors), "p50_ms": percentile(ok, 50),
                     "p99_ms": percentile(ok, 99), "max_ms": max(ok) if ok else float("nan"),
                     "calls_per_s": len(mine) / span if span > 0 else float("nan")}  # fmt: skip
            out[f"{phase}/{kind}"] = entry
            rows.append([phase, kind, entry["calls"], entry["calls_per_s"], entry["p50_ms"], entry["p99_ms"],
                         entry["max_ms"], ", ".join(f"{k} {v}" for k, v in errors.items()) or "0"])  # fmt: skip
    return rows, out


def memory_report(samples, t0: float, restart: dict) -> tuple[list[list], dict]:
    """Memory over time (one row per ~10 s) and each server process's growth after its warm-up."""
    rows, last = [], None
    for t, pid, rss in samples:
        if last is None or t - last >= 10 or (rows and pid != rows[-1][1]):
            rows.append([f"{t - t0:.0f}", pid, rss])
            last = t
    growth = {}
    for label, pid, warm_from in (("first process", restart["old_pid"], t0 + WARMUP_S),
                                  ("after restart", restart.get("new_pid"), restart["serving"] + WARMUP_S)):  # fmt: skip
        mine = [(t, rss) for t, p, rss in samples if p == pid and rss and t >= warm_from]
        if len(mine) >= 8:
            # RSS swings by a tenth from second to second under load: compare the medians of the first and
            # the last quarter of the samples after warm-up, not two single samples.
            q = len(mine) // 4
            first, last = statistics.median(r for _, r in mine[:q]), statistics.median(r for _, r in mine[-q:])
            growth[label] = {"pid": pid, "rss_mib_after_warmup": first, "rss_mib_at_end": last,
                             "peak_mib": max(r for _, r in mine), "growth": last / first - 1,
                             "seconds": mine[-1][0] - mine[0][0]}  # fmt: skip
    return rows, growth


def main(argv=None) -> int:
    from bench.detection import naip_crops
    from shared.client import connect

    args = parse_args(argv)
    info = machine_info()
    print(machine_line(info), flush=True)
    deadline = Deadline(args.seconds + 240, "bench.load")
    pngs, _ = naip_crops(args.images, args.input_size)
    env = {"TERRAFAKE_INFERENCE_BACKEND": "local", "TERRAFAKE_JOB_LEASE_SECONDS": "5",
           "TERRAFAKE_SUPERVISOR_INTERVAL_SECONDS": "1"}  # fmt: skip
    with local_stack(queues=("cpu",), env=env) as stack:
        token = admin_token(stack)
        try:
            with connect(stack.grpc_address, token) as control:
                vid = register_and_promote(stack, control, args.input_size)
                control.detect(pngs[0], model_name=MODEL_NAME)  # the server loads the model once, here
                print(f"[model] {MODEL_NAME} {vid} promoted; {args.clients} clients for {args.seconds:.0f}s, "
                      f"restart at {args.seconds / 3:.0f}s, worker kill at {args.seconds / 2:.0f}s", flush=True)  # fmt: skip
                calls: list[Call] = []
                samples: list = []
                lock, stop, stop_mem = threading.Lock(), threading.Event(), threading.Event()
                sampler = threading.Thread(target=memory_sampler, args=(stack, stop_mem, samples), daemon=True)
                threads = [threading.Thread(target=client_loop, daemon=True, name=f"client-{i}",
                                            args=(i, stack.grpc_address, token, pngs, args.stream_batch, stop, calls, lock))
                           for i in range(args.clients)]  # fmt: skip
                t0 = time.monotonic()
                sampler.start()
                for t in threads:
                    t.start()
                time.sleep(args.seconds / 3)
                restart = restart_server(stack)
                print(f"[fault] gRPC server killed at {restart['killed'] - t0:.1f}s; running again after "
                      f"{restart['restarted'] - restart['killed']:.1f}s, serving after "
                      f"{restart['serving'] - restart['killed']:.1f}s", flush=True)  # fmt: skip
                time.sleep(max(0.0, t0 + args.seconds / 2 - time.monotonic()))
                fault = kill_worker_during_job(stack, control, args.job_seconds)
                print(f"[fault] worker-cpu killed at {fault['killed'] - t0:.1f}s during job {fault['job_id']}", flush=True)
                time.sleep(max(0.0, t0 + args.seconds - time.monotonic()))
                stop.set()
                for t in threads:
                    t.join(timeout=60)
                ended = time.monotonic()
                outcome = job_outcome(stack, control, fault["job_id"], fault["killed_wall"],
                                      timeout=max(30.0, deadline.left() - 30))  # fmt: skip
                stop_mem.set()
                sampler.join(timeout=5)
        except Exception:
            print(f"--- grpc log tail ---\n{log_tail(stack, 'grpc')}")
            print(f"--- worker-cpu log tail ---\n{log_tail(stack, 'worker-cpu')}")
            raise

    rows, by_phase = summarise(calls, restart)
    mem_rows, growth = memory_report(samples, t0, restart)
    failed = sum(1 for c in calls if c.code != "OK")
    spanning = [c for c in calls if phase_of(c, restart) == "overlapping restart" and c.code == "OK"]
    worst_ms = max((1000 * (c.end - c.start) for c in spanning), default=float("nan"))
    job_ok = outcome["state"] == "JOB_STATE_SUCCEEDED" and outcome["times_succeeded"] == 1
    mem_ok = bool(growth) and all(g["growth"] < MEMORY_GROWTH_TARGET for g in growth.values())

    lines = [
        f"bench.load: {args.clients} clients, {ended - t0:.0f}s, Detect (1 image) and DetectStream "
        f"({args.stream_batch} images) on {args.input_size}-px NAIP crops, local backend",
        table(["phase", "call", "calls", "calls/s", "p50 ms", "p99 ms", "max ms", "errors"], rows),
        "",
        f"gRPC server SIGKILL at {restart['killed'] - t0:.1f}s: supervisord ran it again after "
        f"{restart['restarted'] - restart['killed']:.1f}s, SERVING after {restart['serving'] - restart['killed']:.1f}s; "
        f"clients saw {sum(1 for c in calls if phase_of(c, restart) == 'overlapping restart' and c.code != 'OK')} errors "
        f"and {len(spanning)} calls that waited through it (longest {worst_ms:,.0f} ms)",
        f"worker-cpu SIGKILL at {fault['killed'] - t0:.1f}s during job {fault['job_id']}: requeued after "
        f"{fmt(outcome['requeued_after_s'])}s, {outcome['state']} after {fmt(outcome['finished_after_s'])}s, "
        f"attempts {outcome['attempts']}, requeued {outcome['requeued']}x, succeeded {outcome['times_succeeded']}x",
        "",
        "gRPC server resident memory (MiB)",
        table(["t (s)", "pid", "RSS MiB"], mem_rows),
        "",
        table(["server process", "RSS after warm-up (median, first quarter)", "RSS at end (median, last quarter)",
               "peak", "growth", "over (s)"],
              [[k, g["rss_mib_after_warmup"], g["rss_mib_at_end"], g["peak_mib"], f"{100 * g['growth']:+.1f}%",
                g["seconds"]] for k, g in growth.items()]),  # fmt: skip
        "",
        table(["target", "result", "verdict"], [
            ["no failed calls", f"{failed} of {len(calls)} failed", verdict(failed == 0)],
            ["no lost or duplicated job", f"{outcome['state']}, succeeded {outcome['times_succeeded']}x", verdict(job_ok)],
            [f"server memory growth < {100 * MEMORY_GROWTH_TARGET:.0f}% after warm-up",
             ", ".join(f"{k} {100 * g['growth']:+.1f}%" for k, g in growth.items()) or "too short to tell",
             verdict(mem_ok if growth else None)],
        ]),  # fmt: skip
    ]
    text = "\n".join(lines)
    print(text)
    path = write_results("load", {
        "benchmark": "load", "machine": info, "arguments": vars(args), "phases": by_phase, "text": text,
        "restart": {k: (v - t0 if k in ("killed", "restarted", "serving") else v) for k, v in restart.items()},
        "worker_kill": {"job_id": fault["job_id"], "killed_at": fault["killed"] - t0, **outcome},
        "memory_samples": [(t - t0, pid, rss) for t, pid, rss in samples], "memory_growth": growth,
    })  # fmt: skip
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
