"""`terrafake demo`: the main job, run end to end on the embedded local stack.

Stages so far: start the stack, then run the diagnostic job on each queue
and watch it to completion. Later stages (ingest, train, generate, detect,
report) are added as those capabilities land.
"""

from __future__ import annotations

import time

from shared.client import connect
from shared.stack.manager import Stack


def run_demo(args, settings) -> int:
    from shared.cli.main import EXIT_FAILED, EXIT_OK, watch

    timings: list[tuple[str, float]] = []
    stack = Stack(settings)
    started = time.monotonic()
    status = stack.up()
    timings.append(("start the local stack", time.monotonic() - started))
    print(f"stack is up: gRPC on {status['grpc_address']}")
    code = EXIT_OK
    try:
        with connect(status["grpc_address"], settings=settings) as client:
            for queue in ("cpu", "gpu"):
                t0 = time.monotonic()
                job = client.start_diagnostic_job(seconds=3, steps=15, queue=queue)
                print(f"\ndiagnostic job {job.id} on the {queue} queue:")
                if watch(client, job.id, as_json=False) != EXIT_OK:
                    code = EXIT_FAILED
                timings.append((f"diagnostic job on {queue}", time.monotonic() - t0))
    finally:
        if not args.keep_running:
            stack.down()
    print("\nstage timings:")
    for name, seconds in timings:
        print(f"  {name:<28} {seconds:6.1f}s")
    return code
