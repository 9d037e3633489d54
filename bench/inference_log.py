"""What the inference log costs a detection: Detect and DetectStream latency with the log on and off.

    .venv/bin/python -m bench.inference_log                 # 40 Detect calls per size and setting
    .venv/bin/python -m bench.inference_log --calls 100

In one run, on a fresh local stack (its Postgres holds the log):
1. a detector version (random init: speed does not depend on the weights) is registered;
2. two detection servers with the local backend run side by side as processes, one with
   TERRAFAKE_INFERENCE_LOG_RETENTION_DAYS=30 (logging on), one with 0 (off);
3. Detect calls alternate between them (so a change in the machine's load hits both alike), for a
   small image (one crop: where a per-call cost shows most) and a 1024x1024 one; then one
   DetectStream of --stream-images small images each, alternating, several times;
4. the table gives median and p90 per setting and the on/off ratio of the medians; the rows the
   "on" server wrote are counted, to show the log was really written;
5. in this process, the only work logging adds to the request path (hashing the bytes and PIL's
   histogram for the brightness: `InputStats.of`), timed alone per image size, since on a busy
   machine the end-to-end ratio is mostly noise.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
import uuid
from pathlib import Path

import numpy as np

from bench._common import admin_token, local_stack, machine_info, machine_line, percentile, table, write_results


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Detect latency with the inference log on and off.")
    p.add_argument("--calls", type=int, default=40, help="Detect calls per image size and setting")
    p.add_argument("--stream-images", type=int, default=200)
    p.add_argument("--streams", type=int, default=5, help="DetectStream calls per setting")
    p.add_argument("--input-size", type=int, default=64)
    return p.parse_args(argv)


def register(database_url: str, home: Path, input_size: int) -> str:
    import torch

    from shared.db import Database
    from shared.models import create_model, save_model
    from shared.registry.store import RegistryStore

    torch.manual_seed(0)
    model = create_model("detector-small", input_size=input_size)
    vid = uuid.uuid4()
    model_dir = home / "models" / str(vid)
    save_model(model, model_dir)
    db = Database(database_url, max_size=2)
    try:
        RegistryStore(db).register(
            model_name="bench-inference-log", kind="DETECTOR", architecture="detector-small", training_job_id=None,
            dataset_version_id=None, config=dict(model.config), hyperparameters={}, metrics={}, history=[],
            artifacts={"model_dir": str(model_dir), "weights": str(model_dir / "model.safetensors"),
                       "config": str(model_dir / "config.json")},
            calibration=None, description="bench.inference_log: random init, for speed only", version_id=vid,
        )  # fmt: skip
    finally:
        db.close()
    return str(vid)


def images(input_size: int) -> dict[str, bytes]:
    from PIL import Image

    from shared.assets import NEON

    scene = Image.open(NEON / "2019_YELL_2_541000_4977000_image_crop.png").convert("RGB")
    out = {}
    for label, side in ((f"{input_size}x{input_size} (1 crop)", input_size), ("1024x1024", 1024)):
        buf = io.BytesIO()
        scene.crop((0, 0, side, side)).save(buf, "PNG")
        out[label] = buf.getvalue()
    return out


def summary(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"median_ms": statistics.median(ms), "p90_ms": percentile(ms, 90), "n": len(ms)}


def request_path_cost(data: bytes, repeats: int = 50) -> float:
    """Milliseconds of InputStats.of on one image: what a logged detection computes before it answers."""
    from PIL import Image

    from shared.monitoring.inference_log import InputStats

    image = Image.open(io.BytesIO(data)).convert("RGB")
    InputStats.of(data, image, 0.0)
    t0 = time.perf_counter()
    for _ in range(repeats):
        InputStats.of(data, image, 0.0)
    return (time.perf_counter() - t0) / repeats * 1000


def count_rows(database_url: str, vid: str) -> int:
    from shared.db import Database

    db = Database(database_url, max_size=1)
    try:
        with db.connection() as conn:
            return conn.execute("SELECT count(*) AS n FROM inference_log WHERE model_version_id = %s", (vid,)).fetchone()["n"]
    finally:
        db.close()


def main(argv=None) -> int:
    from bench.detection import LocalServer
    from shared.client import connect
    from shared.config import Settings

    args = parse_args(argv)
    info = machine_info()
    print(machine_line(info))
    results: dict = {"benchmark": "inference_log", "machine": info, "args": vars(args)}
    with local_stack(queues=("cpu",)) as stack:
        token, home = admin_token(stack), Path(stack.home)
        vid = register(stack.database_url, home, args.input_size)
        settings = Settings.from_env().with_overrides(database_url=stack.database_url, redis_url=stack.redis_url)
        servers = {}
        try:
            for setting, days in (("on", "30"), ("off", "0")):
                env = dict(stack.child_env(), TERRAFAKE_INFERENCE_LOG_RETENTION_DAYS=days)
                servers[setting] = LocalServer("process", env, settings, home / "logs" / f"bench-log-{setting}.log")
            clients = {k: connect(s.address, token) for k, s in servers.items()}
            rows: list[list] = []
            for label, data in images(args.input_size).items():
                for c in clients.values():  # warm-up: model load, first crops
                    for _ in range(3):
                        c.detect(data, model_version_id=vid)
                times: dict[str, list[float]] = {"on": [], "off": []}
                for i in range(args.calls):
                    order = ("on", "off") if i % 2 == 0 else ("off", "on")
                    for setting in order:
                        t0 = time.perf_counter()
                        clients[setting].detect(data, model_version_id=vid)
                        times[setting].append(time.perf_counter() - t0)
                on, off = summary(times["on"]), summary(times["off"])
                results[f"Detect {label}"] = {"on": on, "off": off}
                rows.append([f"Detect {label}", on["median_ms"], off["median_ms"], on["p90_ms"], off["p90_ms"],
                             on["median_ms"] / off["median_ms"]])  # fmt: skip
                print(f"  Detect {label}: on {on['median_ms']:.2f} ms, off {off['median_ms']:.2f} ms", flush=True)
            small = next(iter(images(args.input_size).values()))
            batch = [(str(i), small) for i in range(args.stream_images)]
            times = {"on": [], "off": []}
            for i in range(args.streams):
                for setting in (("on", "off") if i % 2 == 0 else ("off", "on")):
                    t0 = time.perf_counter()
                    answered = list(clients[setting].detect_stream(batch, model_version_id=vid))
                    times[setting].append((time.perf_counter() - t0) / len(answered))
            on, off = summary(times["on"]), summary(times["off"])
            results["DetectStream per image"] = {"on": on, "off": off}
            rows.append([f"DetectStream, {args.stream_images} images: per image", on["median_ms"], off["median_ms"],
                         on["p90_ms"], off["p90_ms"], on["median_ms"] / off["median_ms"]])  # fmt: skip
            for c in clients.values():
                c.close()
        finally:
            for s in servers.values():
                s.stop()  # the "on" server writes what it still holds as it stops
        expected = 2 * 3 + 2 * args.calls + args.streams * args.stream_images
        written = count_rows(stack.database_url, vid)
        results["rows_written"], results["rows_expected"] = written, expected
    print("\nDetect latency with the inference log on (retention 30 days) and off (0), alternating calls")
    print(table(["call", "on median ms", "off median ms", "on p90 ms", "off p90 ms", "on/off"], rows, digits=3))
    print(f"\nrows written by the server with the log on: {written} of {expected} detections")
    costs = {label: request_path_cost(data) for label, data in images(args.input_size).items()}
    results["request_path_ms"] = costs
    print("work logging adds before the answer (sha256 of the bytes + brightness from PIL's histogram), alone:")
    for row, (label, ms) in zip(rows, costs.items()):
        print(f"  {label}: {ms:.3f} ms per image = {100 * ms / row[2]:.1f}% of the median Detect with the log off")
    print(f"wrote {write_results('inference_log', results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
