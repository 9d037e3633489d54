"""Training overhead: steps/s of a DDPM training job through the platform against a bare training loop.

    .venv/bin/python -m bench.training                  # ddpm-unet-tiny, 32 px, batch 16, 300 steps, CPU
    .venv/bin/python -m bench.training --steps 1000 --device cuda --architecture ddpm-unet-small

One local stack; the real NAIP scenes are uploaded and cut into 128-px tiles
shrunk to --image-size (as the platform's tests do), a dataset version with an
80/10/10 image split is made, and its TRAIN split is what every path trains
on (this process loads it with the worker's own loader, shared.datasets.loader):

- bare: the same model (create_model), batch size, tiles, loss (epsilon MSE),
  AdamW with the same warm-up, grad-norm clip and EMA update, written as a
  plain loop: no checkpoints, callbacks, RNG isolation or job machinery.
  Run before and after the others; the mean is the reference.
- train_ddpm: shared.training.train_ddpm called directly with the job's
  checkpoint interval (the middle point: the training library, no job).
- job: StartTraining on the stack's gpu-queue worker.

Steps/s of every path is measured the same way, over the steps after the
first --warmup (so start-up, data loading and the first slow iterations do
not count): from per-step clocks for bare and train_ddpm, from the job's
progress-event timestamps for the job. The job's registered version's
metrics["steps_per_second"] (all steps, checkpoints included) is shown too.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import torch

from bench._common import (
    Deadline,
    admin_token,
    local_stack,
    log_tail,
    machine_info,
    machine_line,
    table,
    ts,
    verdict,
    write_results,
)

TARGET_OVERHEAD = 0.05


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Training job steps/s against a bare loop of the same model and data.")
    p.add_argument("--architecture", default="ddpm-unet-tiny", help="registered generator (default ddpm-unet-tiny)")
    p.add_argument("--image-size", type=int, default=32, help="tile size trained on (default 32)")
    p.add_argument("--batch-size", type=int, default=16, help="batch size (default 16, train_ddpm's default)")
    p.add_argument("--steps", type=int, default=300, help="optimiser steps per path (default 300)")
    p.add_argument("--warmup", type=int, default=20, help="first steps left out of steps/s (default 20)")
    p.add_argument("--scenes", type=int, default=10, help="NAIP scenes uploaded (default all 10: ~350 tiles)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="device for every path (default cpu)")
    p.add_argument("--threads", type=int, default=0,
                   help="torch threads here and OMP_NUM_THREADS for the stack's workers (default: torch's default)")
    p.add_argument("--progress-interval", type=float, default=None,
                   help="TERRAFAKE_TRAINING_PROGRESS_MIN_INTERVAL_SECONDS for the stack (default: the stack's 1 s)")
    p.add_argument("--timeout", type=float, default=290.0, help="wall-clock budget in seconds (default 290)")
    return p.parse_args(argv)


def checkpoint_interval(steps: int) -> int:
    """What the training servicer chooses when the request gives none."""
    return max(50, steps // 10)


def windowed_rate(points: list[tuple[float, int]], warmup: int) -> float:
    """Steps/s between the first point at or after step `warmup` and the last point."""
    after = [(t, s) for t, s in points if s >= warmup]
    if len(after) < 2 or after[-1][0] <= after[0][0]:
        return float("nan")
    return (after[-1][1] - after[0][1]) / (after[-1][0] - after[0][0])


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --- the three paths -------------------------------------------------------------------------


def bare_loop(images: list[np.ndarray], args, device: torch.device, seed: int = 0) -> dict:
    """The DDPM training step with nothing around it."""
    from shared.models import NoiseSchedule, create_model, from_uint8
    from shared.training.ddpm import DDPM_DEFAULTS

    hp = DDPM_DEFAULTS
    torch.manual_seed(seed)
    model = create_model(args.architecture, image_size=args.image_size).to(device)
    model.train()
    schedule = NoiseSchedule.for_model(model).to(device)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    ema_params, params = list(ema.parameters()), list(model.parameters())
    opt = torch.optim.AdamW(params, lr=hp["lr"], weight_decay=hp["weight_decay"])
    data = np.stack(images)  # uint8 N,H,W,3
    rng = np.random.default_rng(seed)
    order, cursor = rng.permutation(len(data)), 0
    points = []
    start = time.perf_counter()
    for step in range(args.steps):
        if cursor + args.batch_size > len(order):
            order, cursor = rng.permutation(len(data)), 0
        batch = data[order[cursor : cursor + args.batch_size]]
        cursor += args.batch_size
        batch = np.rot90(batch, int(rng.integers(4)), axes=(1, 2))  # aerial tiles have no "up"
        if rng.random() < 0.5:
            batch = batch[:, :, ::-1]
        # from_uint8 permutes NHWC to NCHW without copying, i.e. a channels-last tensor, as the trainer's
        # batches are; oneDNN's convolutions are much faster on that layout here than on a dense NCHW copy.
        x0 = from_uint8(np.ascontiguousarray(batch)).to(device)
        t = torch.randint(0, schedule.num_train_timesteps, (x0.shape[0],), device=device)
        noise = torch.randn_like(x0)
        lr = hp["lr"] * min(1.0, (step + 1) / hp["warmup_steps"])
        for group in opt.param_groups:
            group["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(schedule.add_noise(x0, noise, t), t), noise)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, hp["grad_clip"])
        opt.step()
        decay = min(hp["ema_decay"], (1 + step) / (10 + step))  # warm-up EMA, as the trainer's
        with torch.no_grad():
            torch._foreach_lerp_(ema_params, params, 1.0 - decay)
        loss.item()  # the trainer reads the loss every step too (a device sync on CUDA)
        points.append((time.perf_counter(), step + 1))
    total = time.perf_counter() - start
    return {"steps": args.steps, "seconds": total, "steps_per_s_all": args.steps / total,
            "steps_per_s": windowed_rate(points, args.warmup), "final_loss": loss.item()}  # fmt: skip


def library_call(images: list[np.ndarray], args, device: torch.device) -> dict:
    """shared.training.train_ddpm, as the job calls it, without the job."""
    from shared.training import ImageSet, train_ddpm

    points = []

    def on_step(step: int, total: int, metrics: dict) -> None:
        points.append((time.perf_counter(), step))

    with tempfile.TemporaryDirectory(prefix="bench-train-") as work:
        start = time.perf_counter()
        result = train_ddpm(
            ImageSet(images),
            architecture=args.architecture,
            overrides={"image_size": args.image_size},
            hparams={"batch_size": args.batch_size},
            max_steps=args.steps,
            work_dir=Path(work),
            checkpoint_interval=checkpoint_interval(args.steps),
            device=device,
            seed=0,
            on_step=on_step,
        )
        total = time.perf_counter() - start
    return {"steps": args.steps, "seconds": total, "steps_per_s_all": args.steps / total,
            "steps_per_s": windowed_rate(points, args.warmup),
            "library_steps_per_second": result.metrics.get("steps_per_second")}  # fmt: skip


def platform_job(client, version_id: str, args, deadline: Deadline) -> dict:
    from terrafake.jobs.v1 import job_pb2, jobs_service_pb2 as jobs_pb
    from terrafake.training.v1 import model_pb2, training_service_pb2 as pb

    device = pb.DEVICE_PREFERENCE_CUDA if args.device == "cuda" else pb.DEVICE_PREFERENCE_CPU
    req = pb.StartTrainingRequest(
        model_kind=model_pb2.MODEL_KIND_GENERATOR, model_name=f"bench-gen-{uuid.uuid4().hex[:6]}",
        architecture=args.architecture, dataset_version_id=version_id, max_steps=args.steps,
        hyperparameters={"batch_size": args.batch_size, "model": {"image_size": args.image_size}},
        resources=pb.TrainingResources(device=device),
    )  # fmt: skip
    sent = time.time()
    job = client.call(client.training.StartTraining, req).job
    points, final = [], None
    events = client.watch_job(job.id)
    try:
        for ev in events:
            if ev.type == jobs_pb.JOB_EVENT_TYPE_PROGRESS and "loss" in ev.metrics:
                points.append((ts(ev.time), ev.progress.step))
            if ev.HasField("job"):
                final = ev.job
                break
            deadline.check("waiting for the training job")
    finally:
        events.close()
    done = time.time()
    if final is None or final.state != job_pb2.JOB_STATE_SUCCEEDED:
        raise RuntimeError(f"training job did not succeed: {final.error if final else 'no final event'}")
    version = client.call(
        client.training.GetModelVersion, pb.GetModelVersionRequest(model_version_id=final.result["model_version_id"])
    ).model_version
    started, finished = ts(final.started_at), ts(final.finished_at)
    return {
        "job_id": job.id,
        "steps": args.steps,
        "progress_events": len(points),
        "steps_per_s": windowed_rate(points, args.warmup),
        "version_steps_per_second": version.metrics.get("steps_per_second"),
        "job_seconds": finished - started,
        "steps_per_s_job_wall": args.steps / (finished - started),
        "queue_seconds": started - ts(final.created_at),
        "client_seconds": done - sent,
    }


# --- data --------------------------------------------------------------------------------------


def make_dataset(client, args, deadline: Deadline):
    from shared.assets import naip_scenes
    from terrafake.ingestion.v1 import dataset_pb2, ingestion_service_pb2 as ing_pb
    from terrafake.jobs.v1 import job_pb2

    ds = client.create_dataset(f"bench-train-{uuid.uuid4().hex[:8]}")
    files = [(p.name, p.read_bytes()) for p in naip_scenes()[: args.scenes]]
    opts = {"dataset_id": ds.id, "tile_size": 128, "resize_to": args.image_size, "labels": {"authenticity": "real"}}
    job = client.wait_job(client.upload(files, opts).job.id, timeout=max(deadline.left(), 1))
    if job.state != job_pb2.JOB_STATE_SUCCEEDED:
        raise RuntimeError(f"upload failed: {job.error}")
    spec = dict(train_fraction=0.8, val_fraction=0.1, test_fraction=0.1, seed=1,
                grouping=dataset_pb2.SPLIT_GROUPING_IMAGE)  # fmt: skip
    req = ing_pb.CreateDatasetVersionRequest(dataset_id=ds.id, split=spec)
    return client.call(client.ingestion.CreateDatasetVersion, req).dataset_version


def load_train_split(stack, version_id: str, size: int) -> list[np.ndarray]:
    """The TRAIN split exactly as the worker loads it."""
    from shared.datasets.loader import load_split
    from shared.datasets.store import DatasetStore
    from shared.db import Database
    from shared.storage import open_blob_store

    db = Database(stack.database_url, max_size=2)
    try:
        images, rows = load_split(DatasetStore(db), open_blob_store(stack.settings), version_id, "TRAIN", size=size)
    finally:
        db.close()
    return [im for im, row in zip(images, rows) if row["labels"].get("authenticity", "real") == "real"]


# --- main ----------------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: no CUDA device is visible to torch here", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    stack_env = {}
    if args.threads:
        torch.set_num_threads(args.threads)
        stack_env = {"OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    if args.progress_interval is not None:
        stack_env["TERRAFAKE_TRAINING_PROGRESS_MIN_INTERVAL_SECONDS"] = str(args.progress_interval)
    info = machine_info()
    deadline = Deadline(args.timeout, "bench.training")
    results: dict = {"benchmark": "training", "machine": info, "args": vars(args)}
    print(f"machine: {machine_line(info)}")
    with local_stack(queues=("cpu", "gpu"), env=stack_env) as stack:
        from shared.client import connect

        client = connect(stack.grpc_address, admin_token(stack))
        try:
            print(f"[data] uploading {args.scenes} NAIP scenes, 128-px tiles -> {args.image_size} px ...")
            version = make_dataset(client, args, deadline)
            images = load_train_split(stack, version.id, args.image_size)
            results["train_tiles"] = len(images)
            print(f"[bare] {args.steps} steps on {len(images)} tiles ...")
            bare1 = bare_loop(images, args, device)
            deadline.check("after the first bare loop")
            print("[train_ddpm] ...")
            library = library_call(images, args, device)
            deadline.check("after train_ddpm")
            print("[job] StartTraining ...")
            try:
                job = platform_job(client, version.id, args, deadline)
            except Exception:
                print(f"--- worker-gpu log tail ---\n{log_tail(stack, 'worker-gpu')}", file=sys.stderr)
                raise
            print("[bare] again ...")
            bare2 = bare_loop(images, args, device)
        finally:
            client.close()
    bare_rate = (bare1["steps_per_s"] + bare2["steps_per_s"]) / 2
    results.update(bare=[bare1, bare2], bare_steps_per_s_mean=bare_rate, train_ddpm=library, job=job)
    overhead_job = 1 - job["steps_per_s"] / bare_rate
    overhead_lib = 1 - library["steps_per_s"] / bare_rate
    results["target"] = {"overhead_at_most": TARGET_OVERHEAD, "overhead": overhead_job, "met": overhead_job <= TARGET_OVERHEAD}
    print()
    print(f"Training: {args.architecture} at {args.image_size} px, batch {args.batch_size}, {args.steps} steps, "
          f"{len(images)} real NAIP tiles, {args.device}, steps/s over steps {args.warmup}..{args.steps}, "
          f"checkpoint every {checkpoint_interval(args.steps)} steps (train_ddpm, job)")  # fmt: skip
    rows = [
        ["bare loop (before)", bare1["steps_per_s"], bare1["steps_per_s"] / bare_rate - 1, bare1["seconds"]],
        ["bare loop (after)", bare2["steps_per_s"], bare2["steps_per_s"] / bare_rate - 1, bare2["seconds"]],
        ["shared.training.train_ddpm call", library["steps_per_s"], -overhead_lib, library["seconds"]],
        ["training job (progress events)", job["steps_per_s"], -overhead_job, job["job_seconds"]],
        ["training job (version metrics, all steps)", job["version_steps_per_second"],
         job["version_steps_per_second"] / bare_rate - 1, None],
        ["training job (started..finished wall)", job["steps_per_s_job_wall"], job["steps_per_s_job_wall"] / bare_rate - 1,
         job["job_seconds"]],
    ]  # fmt: skip
    print(table(["path", "steps/s", "vs bare mean", "seconds"], rows, digits=3))
    print(f"job: queued {job['queue_seconds'] * 1000:.0f} ms, {job['progress_events']} progress events, "
          f"client submit..SUCCEEDED {job['client_seconds']:.1f} s")  # fmt: skip
    print(f"\ntarget: job overhead <= {TARGET_OVERHEAD:.0%} of the bare loop's steps/s: {overhead_job:+.1%} "
          f"-> {verdict(overhead_job <= TARGET_OVERHEAD)}  (train_ddpm alone: {overhead_lib:+.1%})")  # fmt: skip
    path = write_results("training", results)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
