"""Jobs benchmark: how fast small jobs get from StartDiagnosticJob to RUNNING, and how many per second finish.

    .venv/bin/python -m bench.jobs                      # 1,000 jobs on a fresh local stack
    .venv/bin/python -m bench.jobs --jobs 5000 --threads 16 --worker-concurrency 2
    .venv/bin/python -m bench.jobs --address 127.0.0.1:50051 --token T   # a stack that is already up

Phases, all against the same stack:

1. burst: --jobs diagnostic jobs (seconds=0, steps=1) submitted as fast as
   --threads client threads (one gRPC channel each) can, each with its own
   idempotency key; then every job is read back and checked: SUCCEEDED,
   attempts == 1, one job per key. Latency here includes queueing behind
   the jobs submitted before it, so it measures the backlog, not dispatch.
2. paced: --paced-jobs jobs at a fixed rate below the burst throughput
   (half of it by default), so submit->running is the platform's own
   dispatch latency (the number the target is about).
3. watched: --watched jobs one at a time, each followed with WatchJob: the
   time until the *client* sees RUNNING and SUCCEEDED.
4. the limit: a bare Celery worker (bench._noop_worker) with the platform's
   Celery settings on the same Redis, whose task only records when it
   started: the same burst and paced runs, no Postgres, no gRPC.

Submit->running is measured from the job's own timestamps (created_at,
started_at, both Postgres now() of their transactions) and from the client's
clock at the moment it sent the request (same machine, same clock).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from bench._common import (
    Deadline,
    admin_token,
    local_stack,
    log_tail,
    machine_info,
    machine_line,
    summary_ms,
    table,
    ts,
    verdict,
    write_results,
)

TARGET_P50_MS = 100.0
KIND = "diagnostic.sleep"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Job submit->running latency and throughput against the Celery limit.")
    p.add_argument("--jobs", type=int, default=1000, help="jobs in the burst phase (default 1000)")
    p.add_argument("--threads", type=int, default=8, help="client threads, one gRPC channel each (default 8)")
    p.add_argument("--paced-jobs", type=int, default=200, help="jobs in the paced phase (default 200; 0 skips)")
    p.add_argument("--paced-rate", type=float, default=0.0, help="jobs/s in the paced phase (default: half the burst throughput)")
    p.add_argument("--watched", type=int, default=30, help="jobs followed one by one with WatchJob (default 30; 0 skips)")
    p.add_argument("--worker-concurrency", type=int, default=1, help="TERRAFAKE_WORKER_CONCURRENCY of the stack started here (default 1, the stack's default)")
    p.add_argument("--no-limit", action="store_true", help="skip the bare Celery no-op comparison")
    p.add_argument("--address", help="use a running stack at HOST:PORT instead of starting one (the Celery limit then needs --redis-url)")
    p.add_argument("--token", help="bearer token for --address (default: TERRAFAKE_TOKEN)")
    p.add_argument("--redis-url", help="broker of the --address stack, for the Celery limit")
    p.add_argument("--timeout", type=float, default=270.0, help="wall-clock budget in seconds for all phases (default 270)")
    return p.parse_args(argv)


# --- the platform ------------------------------------------------------------------------


class Clients:
    """One Client (own channel) per thread, closed together."""

    def __init__(self, address: str, token: str | None):
        from shared.client import connect

        self._connect = lambda: connect(address, token)
        self._local = threading.local()
        self._all = []
        self._lock = threading.Lock()

    def get(self):
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._connect()
            with self._lock:
                self._all.append(client)
        return client

    def close(self) -> None:
        for c in self._all:
            c.close()


def _submit(clients: Clients, key: str) -> dict:
    sent = time.time()
    job = clients.get().start_diagnostic_job(seconds=0, steps=1, idempotency_key=key)
    return {"key": key, "id": job.id, "sent": sent, "acked": time.time()}


def submit_burst(clients: Clients, n: int, threads: int, tag: str, deadline: Deadline) -> list[dict]:
    out: list[dict] = []

    def run(i: int) -> dict | None:
        if deadline.left() <= 0:
            return None
        return _submit(clients, f"bench-{tag}-{i}")

    with ThreadPoolExecutor(threads) as pool:
        for r in pool.map(run, range(n)):
            if r is not None:
                out.append(r)
    return out


def paced(n: int, rate: float, deadline: Deadline):
    """Open loop: yields i = 0..n-1, each at start + i / rate whatever happened to the earlier ones;
    stops early when the deadline is out."""
    start = time.monotonic()
    for i in range(n):
        if deadline.left() <= 0:
            return
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield i


def submit_paced(clients: Clients, n: int, rate: float, threads: int, tag: str, deadline: Deadline) -> list[dict]:
    """Request i is sent at start + i / rate (see `paced`), on a pool so a slow reply delays nothing."""
    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(_submit, clients, f"bench-{tag}-{i}") for i in paced(n, rate, deadline)]
    return [f.result() for f in futures]


def wait_drained(client, deadline: Deadline, what: str) -> float:
    """Wait until no diagnostic job is QUEUED or RUNNING (a count query, cheap for the server)."""
    from terrafake.jobs.v1 import job_pb2

    states = [job_pb2.JOB_STATE_QUEUED, job_pb2.JOB_STATE_RUNNING]
    while True:
        left = client.list_jobs(kinds=[KIND], states=states, page_size=1).page.total_size
        if left == 0:
            return time.time()
        if deadline.left() <= 0:
            raise TimeoutError(f"{what}: {left} diagnostic jobs still queued or running when the budget ran out")
        time.sleep(0.2)


def read_back(clients: Clients, submitted: list[dict], threads: int) -> list[dict]:
    def get(s: dict) -> dict:
        job = clients.get().get_job(s["id"])
        return {
            **s,
            "state": job.state,
            "attempts": job.attempts,
            "created": ts(job.created_at),
            "started": ts(job.started_at),
            "finished": ts(job.finished_at),
        }

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(get, submitted))


def analyse(rows: list[dict], expected: int) -> dict:
    from terrafake.jobs.v1 import job_pb2

    succeeded = [r for r in rows if r["state"] == job_pb2.JOB_STATE_SUCCEEDED]
    once = [r for r in succeeded if r["attempts"] == 1]
    bad = [
        f"{r['id']}: {job_pb2.JobState.Name(r['state'])} attempts={r['attempts']}"
        for r in rows
        if r["state"] != job_pb2.JOB_STATE_SUCCEEDED or r["attempts"] != 1
    ]
    started = [r for r in rows if r["started"] and r["created"]]
    first_sent = min(r["sent"] for r in rows)
    last_sent = max(r["sent"] for r in rows)
    last_finished = max((r["finished"] or 0) for r in rows)
    return {
        "submitted": len(rows),
        "expected": expected,
        "distinct_jobs": len({r["id"] for r in rows}),
        "succeeded": len(succeeded),
        "succeeded_once": len(once),
        "problems": bad[:20],
        "none_lost": len(rows) == expected and len(once) == expected and len({r["id"] for r in rows}) == expected,
        "submit_rate_per_s": len(rows) / max(last_sent - first_sent, 1e-9),
        "jobs_per_s_end_to_end": len(rows) / max(last_finished - first_sent, 1e-9),
        "rpc_ack": summary_ms([r["acked"] - r["sent"] for r in rows]),
        "created_to_running": summary_ms([r["started"] - r["created"] for r in started]),
        "sent_to_running": summary_ms([r["started"] - r["sent"] for r in started]),
        "running_to_finished": summary_ms([r["finished"] - r["started"] for r in started if r["finished"]]),
    }


def watched_jobs(client, m: int, deadline: Deadline) -> dict:
    from terrafake.jobs.v1 import job_pb2

    terminal = {job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED}
    to_running, to_done, ok = [], [], 0
    for i in range(m):
        if deadline.left() <= 0:
            break
        sent = time.time()
        job = client.start_diagnostic_job(seconds=0, steps=1, idempotency_key=f"bench-watch-{uuid.uuid4().hex}")
        seen_running = None
        events = client.watch_job(job.id)
        try:
            for ev in events:
                if seen_running is None and (ev.state == job_pb2.JOB_STATE_RUNNING or ev.state in terminal):
                    seen_running = time.time()
                if ev.HasField("job"):
                    to_done.append(time.time() - sent)
                    ok += ev.job.state == job_pb2.JOB_STATE_SUCCEEDED and ev.job.attempts == 1
                    break
        finally:
            events.close()
        if seen_running is not None:
            to_running.append(seen_running - sent)
    return {"jobs": len(to_done), "succeeded_once": ok, "client_sees_running": summary_ms(to_running),
            "client_sees_succeeded": summary_ms(to_done)}  # fmt: skip


# --- the limit: bare Celery ------------------------------------------------------------------


class NoopWorker:
    """bench._noop_worker as a child process in its own session, stopped by its pid's group."""

    def __init__(self, redis_url: str, concurrency: int, queue: str):
        import redis

        from bench._noop_worker import RESULTS_KEY

        self.redis_url, self.queue = redis_url, queue
        self.redis = redis.Redis.from_url(redis_url)
        self.key = RESULTS_KEY
        self.redis.delete(self.key)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.log = open(f"/tmp/bench-noop-worker-{os.getpid()}.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench._noop_worker", "--redis-url", redis_url, "--queue", queue,
             "--concurrency", str(concurrency)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), start_new_session=True,
        )  # fmt: skip
        from celery import Celery

        from shared.jobs.dispatch import celery_config

        self.app = Celery("bench-noop-sender")
        self.app.conf.update(celery_config(redis_url, 3600))
        self._lock = threading.Lock()  # the platform's Dispatcher also sends under one lock

    def send(self) -> float:
        from bench._noop_worker import TASK_NAME

        sent = time.time()
        with self._lock:
            self.app.send_task(TASK_NAME, args=[sent], queue=self.queue)
        return sent

    def collect(self, n: int, deadline: Deadline) -> list[tuple[float, float]]:
        out = []
        while len(out) < n:
            left = deadline.left()
            if left <= 0:
                break
            item = self.redis.blpop(self.key, timeout=max(1, min(5, int(left))))
            if item is not None:
                out.append(tuple(json.loads(item[1])))
        return out

    def wait_ready(self, deadline: Deadline) -> None:
        self.send()
        if not self.collect(1, Deadline(min(60, max(deadline.left(), 1)), "no-op worker start")):
            raise RuntimeError("the bare Celery worker did not run its first task in 60s")

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=5)
        self.log.close()
        os.unlink(self.log.name)
        self.redis.delete(self.key)
        self.redis.close()


def celery_phase(worker: NoopWorker, n: int, threads: int, rate: float | None, deadline: Deadline) -> dict:
    if rate:
        sent = 0
        for _ in paced(n, rate, deadline):
            worker.send()
            sent += 1
    else:
        with ThreadPoolExecutor(threads) as pool:
            sent = len(list(pool.map(lambda _: worker.send(), range(n))))
    pairs = worker.collect(sent, deadline)
    if not pairs:
        return {"sent": sent, "ran": 0}
    first_sent = min(s for s, _ in pairs)
    last_start = max(t for _, t in pairs)
    return {
        "sent": sent,
        "ran": len(pairs),
        "tasks_per_s": len(pairs) / max(last_start - first_sent, 1e-9),
        "sent_to_started": summary_ms([t - s for s, t in pairs]),
    }


# --- report ----------------------------------------------------------------------------------


def latency_rows(results: dict) -> list[list]:
    rows = []

    def add(label, s):
        if s and s.get("n"):
            rows.append([label, s["n"], s["p50_ms"], s["p90_ms"], s["p99_ms"], s["max_ms"]])

    for phase in ("burst", "paced"):
        r = results.get(phase)
        if r:
            add(f"platform {phase}: created_at -> started_at", r["created_to_running"])
            add(f"platform {phase}: client send -> started_at", r["sent_to_running"])
            add(f"platform {phase}: StartDiagnosticJob RPC", r["rpc_ack"])
            add(f"platform {phase}: started_at -> finished_at", r["running_to_finished"])
    w = results.get("watched")
    if w:
        add("platform watched: send -> client sees RUNNING", w["client_sees_running"])
        add("platform watched: send -> client sees SUCCEEDED", w["client_sees_succeeded"])
    for phase in ("burst", "paced"):
        c = results.get("celery_limit", {}).get(phase)
        if c and c.get("ran"):
            add(f"bare Celery {phase}: send -> task starts", c["sent_to_started"])
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    info = machine_info()
    deadline = Deadline(args.timeout, "bench.jobs")
    results: dict = {"benchmark": "jobs", "machine": info, "args": vars(args)}
    print(f"machine: {machine_line(info)}")

    def run(address: str, token: str | None, redis_url: str | None, concurrency: str) -> None:
        results["worker_concurrency"] = concurrency
        clients = Clients(address, token)
        try:
            client = clients.get()
            tag = uuid.uuid4().hex[:8]
            wait_drained(client, deadline, "before the burst")
            print(f"[burst] submitting {args.jobs} jobs from {args.threads} threads ...")
            subs = submit_burst(clients, args.jobs, args.threads, f"{tag}-b", deadline)
            wait_drained(client, deadline, "burst")
            results["burst"] = analyse(read_back(clients, subs, args.threads), args.jobs)
            rate = args.paced_rate or max(1.0, round(results["burst"]["jobs_per_s_end_to_end"] / 2, 1))
            results["paced_rate_per_s"] = rate
            if args.paced_jobs:
                print(f"[paced] {args.paced_jobs} jobs at {rate}/s ...")
                subs = submit_paced(clients, args.paced_jobs, rate, args.threads, f"{tag}-p", deadline)
                wait_drained(client, deadline, "paced")
                results["paced"] = analyse(read_back(clients, subs, args.threads), args.paced_jobs)
            if args.watched:
                print(f"[watched] {args.watched} jobs one at a time with WatchJob ...")
                results["watched"] = watched_jobs(client, args.watched, deadline)
        finally:
            clients.close()
        if args.no_limit or not redis_url:
            results["celery_limit"] = {"skipped": "--no-limit" if args.no_limit else "no --redis-url for an external stack"}
            return
        print("[limit] bare Celery no-op worker on the same broker ...")
        worker = NoopWorker(redis_url, args.worker_concurrency, f"bench-noop-{tag}")
        try:
            worker.wait_ready(deadline)
            results["celery_limit"] = {
                "burst": celery_phase(worker, args.jobs, args.threads, None, deadline),
                "paced": celery_phase(worker, args.paced_jobs, args.threads, rate, deadline) if args.paced_jobs else None,
                "concurrency": args.worker_concurrency,
            }
        finally:
            worker.stop()

    if args.address:
        run(args.address, args.token or os.environ.get("TERRAFAKE_TOKEN"), args.redis_url, "unknown (external stack)")
    else:
        env = {"TERRAFAKE_WORKER_CONCURRENCY": str(args.worker_concurrency)}
        with local_stack(queues=("cpu",), env=env) as stack:
            try:
                run(stack.grpc_address, admin_token(stack), stack.redis_url, str(args.worker_concurrency))
            except Exception:
                print(f"--- worker-cpu log tail ---\n{log_tail(stack, 'worker-cpu')}", file=sys.stderr)
                raise

    print()
    print(f"Jobs: diagnostic job (seconds=0, steps=1); cpu-queue worker concurrency {results['worker_concurrency']}, "
          f"{args.threads} client threads")  # fmt: skip
    print(table(["latency", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"], latency_rows(results)))
    print()
    thr = []
    for phase in ("burst", "paced"):
        r = results.get(phase)
        if r:
            thr.append([f"platform {phase}", r["submitted"], r["submit_rate_per_s"], r["jobs_per_s_end_to_end"],
                        f"{r['succeeded_once']}/{r['expected']}", "yes" if r["none_lost"] else "NO"])  # fmt: skip
        c = results.get("celery_limit", {}).get(phase) if isinstance(results.get("celery_limit"), dict) else None
        if c and c.get("ran"):
            thr.append([f"bare Celery {phase}", c["sent"], None, c["tasks_per_s"], f"{c['ran']}/{c['sent']}", "yes" if c["ran"] == c["sent"] else "NO"])  # fmt: skip
    print(table(["throughput", "jobs", "submitted/s", "done/s end-to-end", "succeeded, attempts==1", "none lost"], thr))
    paced = results.get("paced") or results["burst"]
    p50 = paced["created_to_running"]["p50_ms"]
    met = p50 < TARGET_P50_MS
    results["target"] = {"submit_to_running_p50_ms_below": TARGET_P50_MS, "measured_p50_ms": p50,
                         "phase": "paced" if results.get("paced") else "burst", "met": met}  # fmt: skip
    print(f"\ntarget: submit->running p50 < {TARGET_P50_MS:.0f} ms ({results['target']['phase']} phase, "
          f"created_at->started_at): {p50:.1f} ms -> {verdict(met)}")  # fmt: skip
    for phase in ("burst", "paced"):
        if results.get(phase) and results[phase]["problems"]:
            print(f"{phase} problems: {results[phase]['problems']}")
    path = write_results("jobs", results)
    print(f"wrote {path}")
    return 0 if results["burst"]["none_lost"] else 1


if __name__ == "__main__":
    sys.exit(main())
