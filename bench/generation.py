"""Generation benchmark: DDPM-1000 against DDIM-50 and DDIM-20 on one U-Net, and a diffusers reference.

    .venv/bin/python -m bench.generation                # trains ddpm-unet-tiny 300 steps on real 32-px NAIP tiles
    .venv/bin/python -m bench.generation --model-dir ~/.terrafake/models/<version> --num-images 256
    .venv/bin/python -m bench.generation --train-steps 3000 --device cuda

1. The model: --model-dir (a saved generator: config.json + model.safetensors),
   or ddpm-unet-tiny trained here with shared.training.train_ddpm for
   --train-steps steps on the ten NAIP scenes cut into 128-px tiles shrunk to
   32 px (box filter, as ingestion's resize_to does). No stack is involved.
2. Ours: shared.models.sample with DDPMSampler (all 1000 steps) and
   DDIMSampler (eta 0) at 50 and 20 steps, --num-images images in batches of
   --batch-size, seeded per image. images/s, and the sliced Wasserstein
   distance of each set against the real tiles
   (shared.training.evaluate.evaluate_generator; lower is better; the real
   floor is what real tiles score against each other).
3. Reference: huggingface diffusers UNet2DModel built from a config (random
   weights, nothing downloaded) with the same widths, blocks per level and
   attention levels as our network, sampled with diffusers' DDIMScheduler at
   the same steps, batch, image size, threads and inference mode.

Speeds are the best of --repeats runs (the least disturbed by other load on
the machine); DDPM-1000 runs once. Every path runs under torch.inference_mode.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench._common import Deadline, machine_info, machine_line, table, verdict, write_results

TARGET_SPEEDUP = 15.0
TARGET_QUALITY = 0.10
INSTALL_HINT = (
    "the diffusers reference needs the diffusers package, which is not a project dependency; "
    "install it into the venv for the benchmark only:\n    .venv/bin/pip install diffusers\n"
    "(or pass --no-reference to skip the comparison)"
)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="DDPM-1000 vs DDIM-50/20 speed and quality, and a diffusers reference.")
    p.add_argument("--model-dir", help="a saved generator to sample from (default: train ddpm-unet-tiny here)")
    p.add_argument("--train-steps", type=int, default=300, help="steps when training here (default 300)")
    p.add_argument("--num-images", type=int, default=32, help="images per sampler (default 32)")
    p.add_argument("--batch-size", type=int, default=16, help="images per sampling batch (default 16)")
    p.add_argument("--repeats", type=int, default=2, help="timed runs of each DDIM configuration (default 2; best kept)")
    p.add_argument("--ddim-steps", type=int, nargs="+", default=[50, 20], help="DDIM step counts (default 50 20)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's default)")
    p.add_argument("--no-reference", action="store_true", help="skip the diffusers comparison")
    p.add_argument("--timeout", type=float, default=290.0, help="wall-clock budget in seconds (default 290)")
    return p.parse_args(argv)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --- data and model ----------------------------------------------------------------------------


def real_tiles(size: int) -> list[np.ndarray]:
    """The shipped NAIP scenes as size-px tiles: 128-px windows, box-resized, like an upload with resize_to."""
    from PIL import Image

    from shared.assets import naip_scenes
    from shared.imaging import iter_tiles, resize_square

    tiles = []
    for path in naip_scenes():
        with Image.open(path) as im:
            scene = im.convert("RGB")
        for tile in iter_tiles(scene, 128, 128):
            tiles.append(np.asarray(resize_square(tile.image, size), dtype=np.uint8).copy())
    return tiles


def get_model(args, tiles: list[np.ndarray], device: torch.device, work: Path):
    from shared.models import load_model
    from shared.training import ImageSet, train_ddpm

    if args.model_dir:
        return load_model(args.model_dir, device=device), {"source": args.model_dir}
    start = time.perf_counter()
    result = train_ddpm(ImageSet(tiles), architecture="ddpm-unet-tiny", max_steps=args.train_steps, work_dir=work,
                        checkpoint_interval=0, device=device, seed=0)  # fmt: skip
    seconds = time.perf_counter() - start
    info = {"source": f"ddpm-unet-tiny trained here, {args.train_steps} steps", "train_seconds": seconds,
            "train_loss": result.metrics.get("loss"), "train_steps_per_second": result.metrics.get("steps_per_second")}  # fmt: skip
    return load_model(result.model_dir, device=device), info


# --- ours ------------------------------------------------------------------------------------------


def ours(model, sampler_name: str, steps: int | None, n: int, batch: int, device: torch.device, seed: int = 0):
    from shared.models import NoiseSchedule, create_sampler, sample, to_uint8

    schedule = NoiseSchedule.for_model(model).to(device)
    size, channels = model.config["image_size"], model.config["in_channels"]
    images = []
    _sync(device)
    start = time.perf_counter()
    with torch.inference_mode():
        for first in range(0, n, batch):
            count = min(batch, n - first)
            sampler = create_sampler(sampler_name, schedule, num_steps=steps, eta=0.0)
            x = sample(model, sampler, (count, channels, size, size), seed=[seed + first + i for i in range(count)],
                       device=device)  # fmt: skip
            images.extend(to_uint8(x))
    _sync(device)
    return time.perf_counter() - start, images


def forward_ms(net, batch: int, size: int, device: torch.device, diffusers: bool, reps: int = 10) -> float:
    """One network evaluation at batch `batch`, in ms (the floor of a sampler step)."""
    x = torch.randn(batch, 3, size, size, device=device)
    t = torch.full((batch,), 500, dtype=torch.long, device=device)
    with torch.inference_mode():
        for _ in range(3):
            net(x, t)
        _sync(device)
        start = time.perf_counter()
        for _ in range(reps):
            out = net(x, t)
            if diffusers:
                out = out.sample
        _sync(device)
    return (time.perf_counter() - start) / reps * 1000


# --- the diffusers reference ----------------------------------------------------------------------------


def diffusers_unet(config: dict):
    """A UNet2DModel with our network's widths, blocks per level and attention levels (random weights)."""
    from diffusers import UNet2DModel

    widths = [config["base_channels"] * m for m in config["channel_mult"]]
    attn = [config["image_size"] // 2**i in set(config["attention_resolutions"]) for i in range(len(widths))]
    down = [("AttnDownBlock2D" if a else "DownBlock2D") for a in attn]
    up = [("AttnUpBlock2D" if a else "UpBlock2D") for a in reversed(attn)]
    attn_width = next((w for w, a in zip(widths, attn) if a), widths[0])
    return UNet2DModel(
        sample_size=config["image_size"], in_channels=config["in_channels"], out_channels=config["out_channels"],
        block_out_channels=tuple(widths), layers_per_block=config["num_res_blocks"], down_block_types=tuple(down),
        up_block_types=tuple(up), norm_num_groups=config["norm_groups"],
        attention_head_dim=max(1, attn_width // config["num_heads"]),
    )  # fmt: skip


def diffusers_sample(unet, steps: int, n: int, batch: int, size: int, device: torch.device, seed: int = 0) -> float:
    from diffusers import DDIMScheduler

    scheduler = DDIMScheduler(num_train_timesteps=1000, beta_schedule="linear", beta_start=1e-4, beta_end=0.02,
                              clip_sample=True)  # fmt: skip
    _sync(device)
    start = time.perf_counter()
    with torch.inference_mode():
        for first in range(0, n, batch):
            count = min(batch, n - first)
            scheduler.set_timesteps(steps)
            g = torch.Generator(device=device).manual_seed(seed + first)
            x = torch.randn((count, 3, size, size), generator=g, device=device)
            for t in scheduler.timesteps:
                eps = unet(x, t).sample
                x = scheduler.step(eps, t, x, eta=0.0).prev_sample
    _sync(device)
    return time.perf_counter() - start


# --- main ---------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: no CUDA device is visible to torch here", file=sys.stderr)
        return 2
    if not args.no_reference:
        try:
            import diffusers  # noqa: F401
        except ImportError as err:
            print(f"cannot import diffusers ({err}): {INSTALL_HINT}", file=sys.stderr)
            return 2
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the reference is built from a config; nothing may be fetched
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    deadline = Deadline(args.timeout, "bench.generation")
    info = machine_info()
    results: dict = {"benchmark": "generation", "machine": info, "args": vars(args)}
    print(f"machine: {machine_line(info)}")
    from shared.models import count_parameters
    from shared.training.evaluate import evaluate_generator

    tiles = real_tiles(32)
    with tempfile.TemporaryDirectory(prefix="bench-gen-") as work:
        print(f"[model] {args.model_dir or f'training ddpm-unet-tiny for {args.train_steps} steps on {len(tiles)} real tiles'} ...")
        model, model_info = get_model(args, tiles, device, Path(work))
    model.eval()
    size = model.config["image_size"]
    if size != 32:
        tiles = real_tiles(size)
    results["model"] = {**model_info, "config": model.config, "parameters": count_parameters(model)}
    n, batch = args.num_images, args.batch_size
    runs: dict[str, dict] = {}

    ours(model, "ddim", 5, batch, batch, device)  # warm-up: allocator, kernels
    print(f"[ours] DDPM-1000, {n} images ...")
    seconds, images = ours(model, "ddpm", None, n, batch, device)
    runs["ours DDPM-1000"] = {"steps": 1000, "seconds": seconds, "images": images}
    reference = None
    if not args.no_reference:
        reference = diffusers_unet(model.config).to(device).eval()
        results["reference"] = {"diffusers": __import__("diffusers").__version__,
                                "parameters": count_parameters(reference), "config": dict(reference.config)}  # fmt: skip
        diffusers_sample(reference, 5, batch, batch, size, device)  # warm-up
    for steps in args.ddim_steps:
        best, best_ref, images = float("inf"), float("inf"), None
        for _ in range(max(1, args.repeats)):
            deadline.check(f"DDIM-{steps}")
            print(f"[ours] DDIM-{steps}, {n} images ...")
            seconds, imgs = ours(model, "ddim", steps, n, batch, device)
            if seconds < best:
                best, images = seconds, imgs
            if reference is not None:
                print(f"[diffusers] DDIM-{steps}, {n} images ...")
                best_ref = min(best_ref, diffusers_sample(reference, steps, n, batch, size, device))
        runs[f"ours DDIM-{steps}"] = {"steps": steps, "seconds": best, "images": images}
        if reference is not None:
            runs[f"diffusers DDIM-{steps}"] = {"steps": steps, "seconds": best_ref, "images": None}

    print("[quality] sliced Wasserstein distance against the real tiles ...")
    for name, run in runs.items():
        if run["images"] is not None:
            deadline.check(f"evaluating {name}")
            report = evaluate_generator(list(run["images"]), tiles, seed=0)
            run["swd"], run["swd_real_floor"], run["swd_ratio"] = report["swd"], report["swd_real_floor"], report["swd_ratio"]
            run["baselines"] = report["baselines"]
    fwd_ours = forward_ms(model, batch, size, device, diffusers=False)
    fwd_ref = forward_ms(reference, batch, size, device, diffusers=True) if reference is not None else None
    results["forward_ms"] = {"ours": fwd_ours, "diffusers": fwd_ref, "batch": batch}

    ddpm = runs["ours DDPM-1000"]
    rows = []
    for name, run in runs.items():
        ips = n / run["seconds"]
        step_ms = run["seconds"] / (run["steps"] * -(-n // batch)) * 1000
        fwd = fwd_ref if name.startswith("diffusers") else fwd_ours
        rows.append([name, run["steps"], run["seconds"], ips, ddpm["seconds"] / run["seconds"], step_ms, step_ms - fwd,
                     run.get("swd"), run.get("swd_ratio")])  # fmt: skip
        run["images_per_s"] = ips
        run["ms_per_step_per_batch"] = step_ms
    print()
    print(f"Generation: {results['model']['source']}, {count_parameters(model):,} parameters; {n} images of {size} px, "
          f"batch {batch}, {args.device}, {torch.get_num_threads()} threads; SWD vs {len(tiles)} real NAIP tiles "
          f"(real floor {ddpm.get('swd_real_floor', float('nan')):.2f})")  # fmt: skip
    print(table(["sampler", "steps", "seconds", "images/s", "x DDPM-1000", "ms/step", "of which not network",
                 "SWD", "SWD / floor"], rows, digits=2))  # fmt: skip
    if reference is not None:
        print(f"network forward at batch {batch}: ours {fwd_ours:.2f} ms ({count_parameters(model):,} params), "
              f"diffusers UNet2DModel {fwd_ref:.2f} ms ({count_parameters(reference):,} params)")  # fmt: skip

    targets = {}
    d50 = runs.get("ours DDIM-50")
    if d50:
        speedup = ddpm["seconds"] / d50["seconds"]
        quality = d50["swd"] / ddpm["swd"] - 1
        targets["ddim50_speedup"] = {"at_least": TARGET_SPEEDUP, "value": speedup, "met": speedup >= TARGET_SPEEDUP}
        targets["ddim50_quality"] = {"swd_worse_by_at_most": TARGET_QUALITY, "value": quality, "met": quality <= TARGET_QUALITY}
        print(f"\ntarget: DDIM-50 >= {TARGET_SPEEDUP:.0f}x faster than DDPM-1000: {speedup:.1f}x -> {verdict(speedup >= TARGET_SPEEDUP)}")
        print(f"target: DDIM-50 SWD within {TARGET_QUALITY:.0%} of DDPM-1000's: {quality:+.1%} "
              f"({d50['swd']:.2f} vs {ddpm['swd']:.2f}) -> {verdict(quality <= TARGET_QUALITY)}")  # fmt: skip
    for steps in args.ddim_steps:
        a, b = runs.get(f"ours DDIM-{steps}"), runs.get(f"diffusers DDIM-{steps}")
        if a and b:
            ratio = b["seconds"] / a["seconds"]
            targets[f"vs_diffusers_ddim{steps}"] = {"ours_speed_over_diffusers_at_least": 1.0, "value": ratio, "met": ratio >= 1.0}
            print(f"target: ours at least as fast as diffusers, DDIM-{steps}: {ratio:.2f}x -> {verdict(ratio >= 1.0)}")
    results["runs"] = {k: {kk: vv for kk, vv in v.items() if kk != "images"} for k, v in runs.items()}
    results["targets"] = targets
    path = write_results("generation", results)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
