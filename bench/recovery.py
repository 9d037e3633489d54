"""How long the local stack takes to recover from a SIGKILL of each of its processes, with no one typing.

    PYTHONPATH=. .venv/bin/python -m bench.recovery [--rounds 3]

A fresh local stack (supervised: Postgres, Redis, Triton, the gRPC server, a cpu and a gpu worker).
For each process, each round: kill it with SIGKILL (Postgres: the postmaster; the others: their
whole process group), then measure from the kill
- "restarted": supervisord has it running again under a new pid;
- "serving": it answers again (Postgres and Redis accept connections, Triton says ready, the gRPC
  health check says SERVING; a worker counts as serving when a job on its queue has run, below);
- "job done": a zero-length diagnostic job submitted right after the kill, to the queue the process
  serves (cpu otherwise), has SUCCEEDED: the platform is usable again end to end.
Target (issue #20): every component back within 15 s. Prints the table and writes
bench/results/recovery.{json,txt}.
"""

from __future__ import annotations

import argparse
import os
import signal
import time
import uuid

import grpc
import numpy as np

from bench._common import admin_token, local_stack, machine_info, machine_line, table, write_results
from shared.client import ClientError

COMPONENTS = ["postgres", "redis", "triton", "grpc", "worker-cpu", "worker-gpu"]
TARGET_S = 15.0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3, help="kills per component (default 3)")
    p.add_argument("--components", nargs="+", default=COMPONENTS, choices=COMPONENTS)
    return p.parse_args(argv)


def _submit(client, queue: str, deadline: float):
    """A zero-length diagnostic job, retried (same idempotency key) while the platform cannot take it."""
    key = uuid.uuid4().hex
    while True:
        try:
            return client.start_diagnostic_job(seconds=0, steps=1, queue=queue, idempotency_key=key)
        except ClientError as exc:
            if exc.code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def one_kill(stack, client, component: str) -> dict:
    from shared.stack import procs
    from terrafake.jobs.v1 import job_pb2

    old = stack._postgres().pid() if component == "postgres" else stack.process(component)["pid"]
    ready = {
        "postgres": lambda: stack._postgres().running(),
        "redis": lambda: procs.port_open(stack.state["redis"]["port"]),
        "triton": stack._triton_ready,
        "grpc": stack.healthy,
    }.get(component)
    queue = "gpu" if component == "worker-gpu" else "cpu"
    if component == "postgres":
        os.kill(old, signal.SIGKILL)
    else:
        procs.kill_hard(stack.process(component))
    killed = time.monotonic()
    deadline = killed + 120
    out = {"component": component}
    job = None
    while time.monotonic() < deadline and len(out) < 4:
        now = time.monotonic() - killed
        record = stack.process(component)
        if "restarted" not in out and record is not None and record["pid"] != old:
            out["restarted"] = now
        if "restarted" in out and "serving" not in out and ready is not None and ready():
            out["serving"] = time.monotonic() - killed
        if job is None:
            job = _submit(client, queue, deadline)
        try:
            state = client.get_job(job.id).state
        except ClientError:
            state = None
        if "job done" not in out and state == job_pb2.JOB_STATE_SUCCEEDED:
            out["job done"] = time.monotonic() - killed
            if ready is None:
                out.setdefault("serving", out["job done"])
        if len(out) == 4:
            break
        time.sleep(0.05)
    return out


def main(argv=None) -> int:
    from shared.client import connect

    args = parse_args(argv)
    info = machine_info()
    print(machine_line(info), flush=True)
    rows = []
    with local_stack(queues=("cpu", "gpu"), env={"TERRAFAKE_INFERENCE_BACKEND": "triton"}) as stack:
        with connect(stack.grpc_address, admin_token(stack)) as client:
            client.wait_job(client.start_diagnostic_job(seconds=0, steps=1, queue="gpu").id, timeout=120)
            for component in args.components:
                for r in range(args.rounds):
                    row = one_kill(stack, client, component)
                    rows.append(row)
                    print(f"{component} round {r + 1}: " + ", ".join(
                        f"{k} {v:.2f}s" for k, v in row.items() if k != "component"), flush=True)  # fmt: skip
                    # The next kill only once supervisord counts the restart as a success (RUNNING, past its
                    # startsecs): a process that dies sooner is a failed start, retried with a growing delay.
                    deadline = time.monotonic() + 60
                    while (stack.supervisor.info(component) or {}).get("statename") != "RUNNING":
                        assert time.monotonic() < deadline, f"{component} not RUNNING again"
                        time.sleep(0.2)
                    time.sleep(1)
            status = stack.status()["components"]
    lines = [f"Recovery after SIGKILL, seconds from the kill ({args.rounds} rounds each, worst shown in brackets)"]
    body = []
    for component in args.components:
        mine = [r for r in rows if r["component"] == component]

        def cell(key: str) -> str:
            values = [r.get(key, float("nan")) for r in mine]
            return f"{np.median(values):.2f} [{max(values):.2f}]"

        worst = max(r.get("job done", float("inf")) for r in mine)
        body.append([component, cell("restarted"), cell("serving"), cell("job done"), status[component]["restarts"],
                     "met" if worst <= TARGET_S else "MISSED"])  # fmt: skip
    lines.append(table(["component", "restarted", "serving", "job done", "restarts counted", f"<= {TARGET_S:g} s"],
                       body))  # fmt: skip
    text = "\n".join(lines)
    print(text)
    path = write_results("recovery", {"machine": info, "arguments": vars(args), "rows": rows, "text": text})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
