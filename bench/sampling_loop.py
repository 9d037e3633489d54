"""Benchmark: where should the DDPM sampling loop run, inside Triton or in the caller?

Prints tables (no assertions) for a randomly initialised U-Net (default
"ddpm-unet-tiny", 32 px) exported to ONNX and served by the local tritonserver:

  in-process      the loop and onnxruntime in this process: the compute floor
  triton-loop     (a) one request to the "ddpm_sampler" python-backend model,
                  which runs the whole loop with onnxruntime inside Triton
  client-loop     (b) the loop here, one gRPC U-Net inference per step

per-step overhead = (time - in-process time) / steps. It also prints the
server's start time, model load times and single-call U-Net latencies.

    PYTHONPATH=. .venv/bin/python -m bench.sampling_loop --steps 20 --batch 4 --repeats 10 --threads 1

On a machine with few cores use `--threads 1`: the benchmark process and the
Triton stubs each hold onnxruntime and torch thread pools, and with all cores
each they contend, which swamps the millisecond differences being measured.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from shared.models import NoiseSchedule, create_model, create_sampler, sample, save_model, to_uint8
from shared.serving.client import TritonClient
from shared.serving.export import export_model
from shared.serving.repository import write_model, write_sampler_model
from shared.serving.server import TritonServer
from shared.serving.unet_adapters import OnnxUNet, TritonUNet


def _timed(fn: Callable[[], object], repeats: int, warmup: int = 1) -> tuple[float, object]:
    """Median seconds of `repeats` calls after `warmup` untimed ones, and the last result."""
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ddpm-unet-tiny")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--eta", type=float, default=0.0)
    parser.add_argument("--sampler", default="ddim", choices=["ddim", "ddpm"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads everywhere (0: all cores)")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    work = Path(tempfile.mkdtemp(prefix="bench-sampling-"))
    try:
        _run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, work: Path) -> None:
    unet = create_model(args.model)
    save_model(unet, work / "checkpoint")
    export = export_model(work / "checkpoint", work / "export")
    repo = work / "repository"
    write_model(
        repo,
        "unet",
        export.directory,
        max_batch_size=max(8, args.batch),
        preferred_batch_sizes=[args.batch],
        intra_op_threads=args.threads,
    )
    write_sampler_model(
        repo, "ddpm_sampler", export.directory, max_images=max(16, args.batch), intra_op_threads=args.threads
    )

    config = unet.config
    shape = (args.batch, config["in_channels"], config["image_size"], config["image_size"])
    seeds = [args.seed + i for i in range(args.batch)]
    schedule = NoiseSchedule.for_model(unet)

    def run_loop(model) -> np.ndarray:
        sampler = create_sampler(args.sampler, schedule, num_steps=args.steps, eta=args.eta)
        return to_uint8(sample(model, sampler, shape, seed=seeds, device="cpu"))

    with TritonServer(repo) as server, TritonClient(server.grpc_url) as client:
        loads = {}
        for name in ("unet", "ddpm_sampler"):
            start = time.perf_counter()
            client.load_model(name)
            loads[name] = time.perf_counter() - start

        local_unet = OnnxUNet(export.model_file, config, threads=args.threads)
        latencies = {}
        for batch in (1, 8):
            x = np.random.default_rng(batch).standard_normal((batch, *shape[1:]), dtype=np.float32)
            t = np.full(batch, 500, dtype=np.int64)
            over_grpc, _ = _timed(lambda: client.infer_unet("unet", x, t), repeats=50, warmup=5)
            in_process, _ = _timed(lambda: local_unet.predict(x, t, None), repeats=50, warmup=5)
            latencies[batch] = (over_grpc, in_process)

        remote = TritonUNet(client, "unet", config)
        methods = {
            "in-process (onnxruntime)": lambda: run_loop(local_unet),
            "(a) triton-loop": lambda: client.generate(
                "ddpm_sampler",
                seed=args.seed,
                num_images=args.batch,
                steps=args.steps,
                eta=args.eta,
                sampler=args.sampler,
            ),
            "(b) client-loop": lambda: run_loop(remote),
        }
        # Interleaved rounds: on a small shared machine, load drifts; every method sees the same drift.
        times: dict[str, list[float]] = {label: [] for label in methods}
        images: dict[str, np.ndarray] = {}
        for round_index in range(args.repeats + 1):
            for label, fn in methods.items():
                seconds, images[label] = _timed(fn, repeats=1, warmup=0)
                if round_index:  # round 0 warms up every path
                    times[label].append(seconds)

    print(
        f"\n{args.model}, {config['image_size']} px, {args.sampler.upper()} {args.steps} steps, eta {args.eta}, "
        f"batch {args.batch}, median of {args.repeats} interleaved rounds, "
        f"onnxruntime threads {args.threads or 'all'}, torch threads {torch.get_num_threads()}"
    )
    print(
        f"tritonserver start: {server.startup_seconds:.2f} s; "
        f"load unet {loads['unet']:.2f} s, ddpm_sampler {loads['ddpm_sampler']:.2f} s"
    )
    print(f"\n{'U-Net call':<12}{'triton gRPC ms':>16}{'in-process ms':>15}{'gRPC+backend overhead ms':>26}")
    for batch, (over_grpc, in_process) in latencies.items():
        overhead = (over_grpc - in_process) * 1e3
        print(f"{'batch ' + str(batch):<12}{over_grpc * 1e3:>16.2f}{in_process * 1e3:>15.2f}{overhead:>26.2f}")
    print(f"\n{'where the loop runs':<28}{'s/generation':>14}{'images/s':>11}{'ms/step':>10}{'overhead ms/step':>18}")
    local = statistics.median(times["in-process (onnxruntime)"])
    for label, samples in times.items():
        seconds = statistics.median(samples)
        overhead = (seconds - local) / args.steps * 1e3
        print(
            f"{label:<28}{seconds:>14.3f}{args.batch / seconds:>11.1f}{seconds / args.steps * 1e3:>10.2f}"
            f"{overhead:>18.2f}"
        )
    # Same seeds, same graph, same loop: the three must agree up to uint8 rounding.
    reference = images["in-process (onnxruntime)"].astype(np.int16)
    agree = max(int(np.abs(image.astype(np.int16) - reference).max()) for image in images.values())
    print(f"\nmax |difference| between the three outputs (uint8): {agree}")


if __name__ == "__main__":
    main()
