"""`terrafake demo`: the main job, end to end on the embedded local stack.

Starts the stack, runs shared.demo's stages with a progress display, writes an
HTML report under $TERRAFAKE_HOME/reports/, and stops the stack (unless
--keep-running).
"""

from __future__ import annotations

import dataclasses
import time

from shared.client import connect
from shared.stack.manager import Stack


def run_demo(args, settings) -> int:
    from shared.cli.errors import EXIT_FAILED, EXIT_OK
    from shared.demo.pipeline import Demo, DemoError
    from shared.demo.settings import PRESETS

    preset = PRESETS[args.preset]
    if getattr(args, "seed", None) is not None:
        preset = dataclasses.replace(preset, seed=args.seed)
    stack = Stack(settings)
    started = time.monotonic()
    print("== start the local stack (Postgres, Redis, Triton, gRPC server, workers)")
    status = stack.up()
    stack_seconds = time.monotonic() - started
    print(f"   up in {stack_seconds:.1f}s: gRPC on {status['grpc_address']}, Triton on {status['triton_url']}")
    try:
        with connect(status["grpc_address"], settings=settings) as client:
            demo = Demo(client, preset, settings.home / "reports" / time.strftime("demo-%Y%m%d-%H%M%S"))
            demo.report.stage_seconds.append(("start the local stack", stack_seconds))
            try:
                path = demo.run()
            except DemoError as err:
                print(f"error: {err}")
                return EXIT_FAILED
    finally:
        if not args.keep_running:
            print("\n== stop the local stack")
            stack.down()
    total = time.monotonic() - started
    print("\nstage timings:")
    for name, seconds in demo.report.stage_seconds:
        print(f"  {name:<44} {seconds:7.1f}s")
    print(f"  {'total':<44} {total:7.1f}s")
    met = sum(1 for t in demo.report.targets if t[4])
    print(f"\nquality targets met: {met} of {len(demo.report.targets)}")
    for name, value, op, target, passed in demo.report.targets:
        print(f"  [{'PASS' if passed else 'FAIL'}] {name}: {value:.4f} {op} {target:.4f}")
    print(f"\nreport: {path}")
    return EXIT_OK
