"""Native-resolution detection speed: a 1024x1024 image through both backends, and crops against the bare pass.

    .venv/bin/python -m bench.detect_native                       # detector-npr (64-px crops), 15 calls each
    .venv/bin/python -m bench.detect_native --architecture detector-safe --calls 20
    .venv/bin/python -m bench.detect_native --architecture detector-effnet-probe --input-size 32 --upsample 2

In one run, on a fresh local stack:
1. a detector version (random init: speed does not depend on the weights) is
   registered, exported to ONNX and promoted, which loads it into Triton;
2. a real 1024x1024 image (a crop of the shipped NEON Yellowstone scene, PNG)
   is judged --calls times with Detect through the stack's server (Triton
   backend) and through a detection server with the local backend; the table
   gives the median and worst time per call, heatmap included or not;
3. in this process: the image's crops scored by the bare forward pass at batch
   64 against `image_logits` (cutting the crops, scoring, aggregating) on the
   same image, as a throughput ratio of crops per second.

Targets (issue #15): a 1024x1024 image judged in <= 1 s through both backends;
crop throughput within 15% of the bare forward pass at batch 64.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench._common import Deadline, admin_token, local_stack, machine_info, machine_line, table, write_results


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Native-resolution detection speed.")
    p.add_argument("--architecture", default="detector-npr")
    p.add_argument("--input-size", type=int, default=64)
    p.add_argument("--upsample", type=int, default=0,
                   help="detector-effnet-probe: enlarge each crop this many times before the backbone (0: the default)")
    p.add_argument("--calls", type=int, default=15)
    p.add_argument("--timeout", type=float, default=900)
    return p.parse_args(argv)


def test_image() -> bytes:
    from PIL import Image

    from shared.assets import NEON

    scene = Image.open(NEON / "2019_YELL_2_541000_4977000_image_crop.png").convert("RGB")
    buf = io.BytesIO()
    scene.crop((0, 0, 1024, 1024)).save(buf, "PNG")
    return buf.getvalue()


def time_calls(address: str, token: str, data: bytes, name: str, calls: int, heatmap: bool) -> dict:
    from shared.client import connect
    from terrafake.common.v1 import common_pb2
    from terrafake.detection.v1 import detection_service_pb2 as det_pb

    def once(client):
        header = det_pb.DetectHeader(image=common_pb2.ImageHeader(size_bytes=len(data)),
                                     options=det_pb.DetectOptions(model_name=name, want_heatmap=heatmap))  # fmt: skip
        chunks = [det_pb.DetectRequest(chunk=common_pb2.ImageChunk(data=data[i : i + 1 << 20]))
                  for i in range(0, len(data), 1 << 20)]  # fmt: skip
        return client.detection.Detect(iter([det_pb.DetectRequest(header=header), *chunks]), metadata=client.metadata,
                                       timeout=60).verdict  # fmt: skip

    with connect(address, token) as client:
        once(client)  # warm-up: model load
        seconds = []
        for _ in range(calls):
            t0 = time.perf_counter()
            verdict = once(client)
            seconds.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(seconds), "max_s": max(seconds), "calls": calls,
            "p_generated": verdict.p_generated, "heatmap": [verdict.heatmap.width, verdict.heatmap.height]}  # fmt: skip


def crop_throughput(model_dir: str, data: bytes, repeats: int = 5) -> dict:
    import torch
    from PIL import Image

    from shared.models import load_model
    from shared.models.detector.crops import CropPolicy
    from shared.training.scoring import detector_logits, image_logits

    model = load_model(model_dir)
    image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    policy = CropPolicy.from_config(model.config)
    crops, _ = policy.crops(image)
    with torch.inference_mode():
        detector_logits(model, list(crops))
        image_logits(model, [image])
        bare, full = [], []
        for _ in range(repeats):  # interleaved, so drift in the machine's speed hits both alike
            t0 = time.perf_counter()
            detector_logits(model, list(crops), batch_size=64)
            bare.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            image_logits(model, [image], batch_size=64)
            full.append(time.perf_counter() - t0)
    b, f = statistics.median(bare), statistics.median(full)
    return {"crops": len(crops), "bare_crops_per_s": len(crops) / b, "judged_crops_per_s": len(crops) / f,
            "overhead_percent": 100 * (f - b) / b}  # fmt: skip


def main(argv=None) -> int:
    from bench.detection import LocalServer, register_export_promote

    args = parse_args(argv)
    info = machine_info()
    print(machine_line(info))
    deadline = Deadline(args.timeout, "bench.detect_native")
    data = test_image()
    results: dict = {"benchmark": "detect_native", "machine": info, "args": vars(args)}
    from shared.config import Settings

    with local_stack(queues=("cpu",)) as stack:
        token = admin_token(stack)
        name = "bench-native"
        home = Path(stack.home)
        reg = register_export_promote(stack.grpc_address, token, stack.database_url, home, args.input_size, deadline,
                                      architecture=args.architecture, model_name=name,
                                      overrides={"upsample": args.upsample} if args.upsample else None)  # fmt: skip
        results["model"] = reg
        settings = Settings.from_env().with_overrides(database_url=stack.database_url, redis_url=stack.redis_url)
        local = LocalServer("process", stack.child_env(), settings, home / "logs" / "bench-native-local.log")
        try:
            rows = {}
            for backend, address in (("triton", stack.grpc_address), ("local", local.address)):
                for heatmap in (False, True):
                    key = f"{backend}{' + heatmap' if heatmap else ''}"
                    rows[key] = time_calls(address, token, data, name, args.calls, heatmap)
                    print(f"  {key}: median {rows[key]['median_s']:.3f}s, max {rows[key]['max_s']:.3f}s", flush=True)
        finally:
            local.stop()
        results["detect_1024"] = rows
        results["crop_throughput"] = crop_throughput(reg["model_dir"], data)
    print("\n1024x1024 image, Detect (target <= 1 s)")
    print(table(["backend", "median s", "max s", "heatmap"],
                [[k, r["median_s"], r["max_s"], "x".join(map(str, r["heatmap"])) if "heatmap" in k else "-"]
                 for k, r in results["detect_1024"].items()], digits=3))  # fmt: skip
    t = results["crop_throughput"]
    print(f"\ncrops of that image ({t['crops']}): bare forward {t['bare_crops_per_s']:.0f}/s, judged "
          f"{t['judged_crops_per_s']:.0f}/s: {t['overhead_percent']:+.1f}% (target within 15%)")  # fmt: skip
    print(f"wrote {write_results('detect_native', results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
