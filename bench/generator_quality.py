"""Generator quality against training length: SWD of the demo's generator after more and more steps.

    .venv/bin/python -m bench.generator_quality                          # 10k, 20k, 30k steps (about 40 min on 2 cores)
    .venv/bin/python -m bench.generator_quality --stages 2500 5000 --device cuda
    .venv/bin/python -m bench.generator_quality --architecture gan-stylegan2-small --stages 2000 4000

Issue #4 asks what the CPU demo settings reach and what longer runs reach.
This trains the demo's generator (ddpm-unet-tiny at 32 px, batch 16, lr 4e-3,
the registry's v-prediction on the cosine schedule) in this process with
`shared.training.train_ddpm` (`train_gan` for `--architecture
gan-stylegan2-small`), on the demo's real tiles cut the same way (64-px
crops of the ten NAIP scenes' 256-px map tiles, box-resized to 32 px), split
as the demo splits them (seed 0): scenes 0 and 6 for test, 1 and 9 for val,
the other six for training. After each stage it resumes the same run from its
checkpoint, samples --samples images (DDIM, --sampler-steps, --eta) and scores
them with `evaluate_generator` twice, as the demo's evaluation jobs do:

- against the training years (the distribution the generator learnt, as FID
  is usually measured): SWD, the real-vs-real floor, and the blurred and
  patch-shuffled baselines. The target is the demo's: below 0.8 x each baseline.
- against the held-out years: SWD, floor, and the training-data line (as many
  training tiles, scored the same way: what a generator that reproduced its
  training data exactly would reach there).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench._common import machine_info, machine_line, table, verdict, write_results

TEST_SCENES = (0, 6)  # indices into naip_scenes(), oldest first: the demo's test years (its split, seed 0)
VAL_SCENES = (1, 9)  # the demo's val years: not used for training either
MARGIN = 0.8


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="SWD of the demo generator after each training stage.")
    p.add_argument("--stages", type=int, nargs="+", default=[10_000, 20_000, 30_000], help="cumulative steps at which to score")
    p.add_argument("--architecture", default="ddpm-unet-tiny",
                   help="a registered generator: a DDPM U-Net, or gan-stylegan2-small (train_gan, one-pass sampling)")
    p.add_argument("--overrides", type=json.loads, default={}, help='model config overrides as JSON, e.g. \'{"channel_mult": [1, 2, 2]}\'')
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, help="learning rate (default: a DDPM's 4e-3, as the demo; a GAN's 2e-3)")
    p.add_argument("--samples", type=int, default=256, help="generated images scored per stage (default 256)")
    p.add_argument("--sampler-steps", type=int, default=20, help="DDIM steps, as the demo (default 20)")
    p.add_argument("--eta", type=float, default=0.0, help="DDIM eta, as the demo (default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--work-dir", help="keep the run here (default: a temporary folder)")
    return p.parse_args(argv)


def demo_tiles(tile: int = 64, size: int = 32) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(train, test) tiles: every 64-px crop of each scene's 4 x 2 map tiles (as the demo's tile server
    lays them out), box-resized to 32 px; the test scenes held out, the val scenes left out."""
    from shared.assets import naip_scenes
    from shared.demo.tileserver import map_tile

    train, test = [], []
    for index, path in enumerate(naip_scenes()):
        if index in VAL_SCENES:
            continue
        with Image.open(path) as im:
            scene = im.convert("RGB")
        for row in range(2):
            for col in range(4):
                big = map_tile(scene, col, row)
                for y in range(0, 256, tile):
                    for x in range(0, 256, tile):
                        crop = big.crop((x, y, x + tile, y + tile)).resize((size, size), Image.Resampling.BOX)
                        (test if index in TEST_SCENES else train).append(np.asarray(crop))
    return train, test


def main(argv=None) -> int:
    args = parse_args(argv)
    from shared.training.data import ImageSet
    from shared.training.generators import generator_trainer, is_gan
    from shared.training.evaluate import evaluate_generator
    from shared.training.generate import generate_images

    info = machine_info()
    print(f"machine: {machine_line(info)}")
    stages = sorted(set(args.stages))
    train, test = demo_tiles()
    print(f"[data] {len(train)} training tiles (6 scenes), {len(test)} held-out tiles (scenes {TEST_SCENES}), 32 px")
    work_dir = Path(args.work_dir or tempfile.mkdtemp(prefix="terrafake-genq-"))
    gan = is_gan(args.architecture)
    train_fn = generator_trainer(args.architecture)
    hparams = {"batch_size": args.batch_size, "lr": args.lr or (2e-3 if gan else 4e-3)}
    rows, runs = [], []
    started = time.monotonic()
    for stage in stages:
        t0 = time.monotonic()
        result = train_fn(ImageSet(train), architecture=args.architecture, overrides={**args.overrides, "image_size": 32},
                            hparams=hparams, max_steps=stage, work_dir=work_dir, checkpoint_interval=min(stages),
                            device=args.device)  # fmt: skip
        train_s = time.monotonic() - t0
        t0 = time.monotonic()
        images = generate_images(result.model_dir, args.samples, sampler="ddim", steps=args.sampler_steps,
                                 eta=args.eta, seed=1000, batch_size=64, device=args.device)  # fmt: skip
        generated = [np.asarray(i) for i in images]
        own = evaluate_generator(generated, train, projections=256, seed=0)
        held = evaluate_generator(generated, test, training=train, projections=256, seed=0)
        base = own["baselines"]
        met = own["swd"] < MARGIN * min(base["blurred"], base["shuffled_patches"])
        run = {"steps": stage, "train_seconds": train_s, "elapsed_seconds": time.monotonic() - started,
               "sample_and_score_seconds": time.monotonic() - t0, "swd": own["swd"],
               "swd_per_level": own["swd_per_level"], "floor": own["swd_real_floor"], "baselines": base,
               "held_out": {k: held[k] for k in ("swd", "swd_per_level", "swd_real_floor", "swd_training_data",
                                                 "baselines", "reference_baselines")},
               "prediction": result.config.get("prediction"), "noise_schedule": result.config.get("noise_schedule"),
               "beats_baselines_by_margin": met}  # fmt: skip
        runs.append(run)
        rows.append([stage, run["elapsed_seconds"] / 60, own["swd"], *own["swd_per_level"], own["swd_real_floor"],
                     base["blurred"], base["shuffled_patches"], verdict(met), held["swd"], held["swd_real_floor"],
                     held["swd_training_data"]])  # fmt: skip
        print(f"  {stage} steps: SWD {own['swd']:.4f} against the training years (floor {own['swd_real_floor']:.4f}, "
              f"blurred {base['blurred']:.4f}, shuffled {base['shuffled_patches']:.4f}); {held['swd']:.4f} against the "
              f"held-out years (training data {held['swd_training_data']:.4f}) after {run['elapsed_seconds'] / 60:.1f} min",
              flush=True)  # fmt: skip
    print()
    last = runs[-1]
    how = ("GAN, one forward pass per sample" if gan else f"{last['prediction']}-prediction, {last['noise_schedule']} "
           f"schedule; DDIM-{args.sampler_steps} (eta {args.eta:g})")  # fmt: skip
    print(f"Generator quality: {args.architecture} at 32 px, batch {args.batch_size}, lr {hparams['lr']:g}, {how}; "
          f"{args.samples} samples; target: SWD against the training years < {MARGIN:g} x each baseline")  # fmt: skip
    if args.overrides:
        print(f"model overrides: {json.dumps(args.overrides)}")
    print(table(["steps", "minutes", "SWD", "32 px band", "16 px low-pass", "floor", "blurred", "shuffled", "clear margin",
                 "held-out SWD", "held-out floor", "held-out training data"], rows, digits=4))  # fmt: skip
    path = write_results("generator_quality", {"benchmark": "generator_quality", "machine": info, "args": vars(args), "runs": runs})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
