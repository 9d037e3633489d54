"""Detection benchmark: DetectStream and Detect through the service, local and Triton backends, against the forward pass.

    .venv/bin/python -m bench.detection                  # fresh local stack, batches 1/8/64, 1 and 16 clients
    .venv/bin/python -m bench.detection --seconds 8 --batch-sizes 1 8 64 --clients 1 4 16
    .venv/bin/python -m bench.detection --address 127.0.0.1:50051 --token T --database-url URL \\
        --redis-url URL --home ~/.terrafake               # a stack that is already up (its default backend: triton)

In one run, against one stack:

1. a detector version is registered without training (detector-small at
   --input-size, random init: speed does not depend on the weights), exported
   with the ExportModel RPC (ONNX, max_batch_size 64, Triton's dynamic batcher)
   and promoted to PRODUCTION with PromoteModel, which loads it into Triton;
2. the images are real --input-size crops of the shipped NAIP scenes,
   PNG-encoded (PIL default level) as a client would send them;
3. for every batch size and client count (threads, each with its own gRPC
   channel), each for --seconds after one warm-up round per client:
   - forward: shared.training.scoring.detector_scores on the decoded uint8
     arrays in this process (the limit; latency is batch time / batch size);
   - local DetectStream: a detection server with inference_backend="local"
     (by default its own process, `python -m services.server --services
     detection`, on the stack's Postgres; --local-server inprocess runs
     services.server.Server in this process instead);
   - Triton DetectStream: the stack's gRPC server (default backend triton);
   - Detect, one image per call, through Triton and through local.
   "Batch" for DetectStream is the number of images a client sends before it
   half-closes and collects the verdicts; per-image latency is from the moment
   the client hands an image's EndOfImage to gRPC to its verdict arriving.
4. CPU seconds of every process involved (this process = the clients, the
   detection server, tritonserver with its python-backend stub, Postgres, and
   the rest of the machine) are sampled around each run, and Triton's own
   statistics give the batch sizes it actually executed.
5. a profile of the service path, stage by stage, on the same images.

Targets: local-backend DetectStream at batch 64 and 1 client within 10% of
the forward pass at batch 64; Triton DetectStream (batch 64, 16 clients) at
least 3x unbatched single-image Detect calls through Triton with 16 clients.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import psutil

from bench._common import (
    CpuMeter,
    Deadline,
    _still_alive,
    admin_token,
    local_stack,
    log_tail,
    machine_info,
    machine_line,
    summary_ms,
    table,
    verdict,
    write_results,
)

TARGET_OVERHEAD = 0.10
TARGET_BATCHING_X = 3.0
MODEL_NAME = "bench-detector"
REPO = Path(__file__).resolve().parents[1]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="DetectStream/Detect images/s and latency, local and Triton, against the forward pass.")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 64], help="images per DetectStream call / per forward (default 1 8 64)")
    p.add_argument("--clients", type=int, nargs="+", default=[1, 16], help="concurrent clients, one thread and channel each (default 1 16)")
    p.add_argument("--seconds", type=float, default=4.0, help="measured seconds per run, after one warm-up round per client (default 4)")
    p.add_argument("--max-images", type=int, default=20000, help="at most this many images per run (default 20000)")
    p.add_argument("--images", type=int, default=512, help="distinct NAIP crops cycled through (default 512)")
    p.add_argument("--input-size", type=int, default=64, help="crop size and detector input size (default 64)")
    p.add_argument("--local-server", choices=["process", "inprocess"], default="process",
                   help="where the local-backend detection server runs: its own process (default) or a Server in this one")  # fmt: skip
    p.add_argument("--no-detect-local", action="store_true", help="skip single-image Detect through the local backend")
    p.add_argument("--overhead-repeats", type=int, default=3,
                   help="for the overhead target, alternate the forward pass and local DetectStream at the largest "
                        "batch this many more times; the target is the median of the pairs (default 3; 0: off)")
    p.add_argument("--no-profile", action="store_true", help="skip the stage profile")
    p.add_argument("--chunked", action="store_true",
                   help="send each image as header + chunk (+ EndOfImage), not in one message (the first four passes' form)")
    p.add_argument("--address", help="use a running stack's gRPC server at HOST:PORT (its backend must be triton)")
    p.add_argument("--token", help="admin token for --address (default: TERRAFAKE_TOKEN)")
    p.add_argument("--database-url", help="Postgres of the --address stack (to register the model)")
    p.add_argument("--redis-url", help="Redis of the --address stack (the local-backend server needs one)")
    p.add_argument("--home", help="TERRAFAKE_HOME of the --address stack (the model is saved under its models/)")
    p.add_argument("--triton-url", help="Triton of the --address stack, for its statistics (optional)")
    p.add_argument("--timeout", type=float, default=290.0, help="wall-clock budget in seconds for everything (default 290)")
    return p.parse_args(argv)


# --- images --------------------------------------------------------------------------------


def naip_crops(n: int, size: int) -> tuple[list[bytes], list[np.ndarray]]:
    """n real size x size crops of the NAIP scenes, spread over all scenes: PNG bytes and decoded uint8 arrays."""
    from PIL import Image

    from shared.assets import naip_scenes

    crops = []
    for path in naip_scenes():
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            crops += [im.crop((x, y, x + size, y + size)) for y in range(0, h - size + 1, size) for x in range(0, w - size + 1, size)]
    if not crops:
        raise RuntimeError("no NAIP scenes found under shared/assets/imagery/naip")
    picks = [crops[int(i * len(crops) / n) % len(crops)] for i in range(n)]
    pngs = []
    for c in picks:
        buf = io.BytesIO()
        c.save(buf, "PNG")
        pngs.append(buf.getvalue())
    arrays = [np.asarray(Image.open(io.BytesIO(b)).convert("RGB"), dtype=np.uint8) for b in pngs]
    return pngs, arrays


# --- Triton statistics ----------------------------------------------------------------------------


class TritonStats:
    def __init__(self, url: str | None, name: str, version: int):
        self.client = None
        self.name, self.version = name, str(version)
        if url:
            import tritonclient.grpc as grpcclient

            self.client = grpcclient.InferenceServerClient(url)

    def sample(self) -> dict | None:
        if self.client is None:
            return None
        try:
            stats = self.client.get_inference_statistics(self.name, self.version, as_json=True, client_timeout=10)
        except Exception:
            return None
        out = {"inference_count": 0, "execution_count": 0, "batch_compute_infer_ns": 0, "batch_compute_input_ns": 0,
               "batch_compute_output_ns": 0}
        for entry in stats.get("model_stats", []):
            out["inference_count"] += int(entry.get("inference_count", 0))
            out["execution_count"] += int(entry.get("execution_count", 0))
            for key, value in entry.get("inference_stats", {}).items():  # per request
                out[f"{key}_count"] = out.get(f"{key}_count", 0) + int(value.get("count", 0))
                out[f"{key}_ns"] = out.get(f"{key}_ns", 0) + int(value.get("ns", 0))
            for bs in entry.get("batch_stats", []):  # per execution, by executed batch size
                for part in ("compute_input", "compute_infer", "compute_output"):
                    out[f"batch_{part}_ns"] += int(bs.get(part, {}).get("ns", 0))
        return out

    @staticmethod
    def delta(a: dict | None, b: dict | None) -> dict | None:
        if not a or not b:
            return None
        d = {k: b.get(k, 0) - a.get(k, 0) for k in b}
        inf, exe = d["inference_count"], d["execution_count"]
        requests = d.get("success_count", 0)
        out = {
            "images": inf,
            "executions": exe,
            "requests": requests,
            "avg_executed_batch": inf / exe if exe else float("nan"),
        }
        if requests:
            out["queue_ms_per_request"] = d.get("queue_ns", 0) / requests / 1e6
            out["request_ms_in_triton"] = d.get("success_ns", 0) / requests / 1e6
        if inf:
            # execution times divided over the images they served: what Triton's model costs per image
            for part in ("compute_input", "compute_infer", "compute_output"):
                out[f"{part}_ms_per_image"] = d[f"batch_{part}_ns"] / inf / 1e6
        return out

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()


# --- the runner -----------------------------------------------------------------------------------


def run_clients(setup, one_round, *, clients: int, batch: int, seconds: float, max_images: int, deadline: Deadline,
                meter: CpuMeter | None = None, triton: TritonStats | None = None) -> dict:  # fmt: skip
    """`clients` threads: setup(i) -> state; one warm-up round each; then rounds until `seconds` or the count limit.

    one_round(state, round_index) -> list of per-image latencies (seconds) and an error count."""
    per_client_cap = max(batch, max_images // clients)
    barrier = threading.Barrier(clients + 1, timeout=120)
    stop_at = [0.0]
    go = threading.Event()
    lat: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    ends = [0.0] * clients
    failures: list[BaseException] = []

    def worker(i: int) -> None:
        state = None
        try:
            state = setup(i)
            one_round(state, -1 - i)  # warm-up: channel, model cache, Triton
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        go.wait(timeout=120)
        try:
            if failures:
                return
            r = 0
            while time.monotonic() < stop_at[0] and len(lat[i]) < per_client_cap and deadline.left() > 0:
                got, bad = one_round(state, i * 1_000_000 + r)
                lat[i] += got
                errors[i] += bad
                r += 1
            ends[i] = time.monotonic()
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)
            ends[i] = time.monotonic()
        finally:
            if state is not None and hasattr(state, "close"):
                with contextlib.suppress(Exception):
                    state.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
    cpu0 = meter.sample() if meter else None
    tri0 = triton.sample() if triton else None
    start = time.monotonic()
    stop_at[0] = start + seconds
    go.set()
    for t in threads:
        t.join(timeout=max(1.0, deadline.left() + 60))
    if failures:
        raise failures[0]
    end = max(ends) if any(ends) else time.monotonic()
    wall = end - start
    all_lat = [x for part in lat for x in part]
    out = {
        "clients": clients,
        "batch": batch,
        "images": len(all_lat),
        "errors": sum(errors),
        "seconds": wall,
        "images_per_s": len(all_lat) / max(wall, 1e-9),
        "latency": summary_ms(all_lat),
    }
    if meter:
        out["cpu"] = CpuMeter.delta(cpu0, meter.sample(), len(all_lat), wall)
    if triton:
        out["triton"] = TritonStats.delta(tri0, triton.sample())
    return out


# --- the three paths --------------------------------------------------------------------------------


def forward_path(model, arrays: list[np.ndarray], batch: int):
    import torch

    from shared.training.scoring import detector_scores

    def setup(i):
        return {"offset": (i * 37) % len(arrays)}

    def one_round(state, r):
        start = (state["offset"] + abs(r) * batch) % len(arrays)
        imgs = [arrays[(start + k) % len(arrays)] for k in range(batch)]
        t0 = time.perf_counter()
        with torch.inference_mode():
            detector_scores(model, imgs, batch_size=max(batch, 1))
        dt = time.perf_counter() - t0
        return [dt / batch] * batch, 0

    return setup, one_round


class _Channel:
    def __init__(self, address: str, token: str | None):
        from shared.client import connect

        self.client = connect(address, token)
        self.stub = self.client.detection
        self.md = self.client.metadata

    def close(self):
        self.client.close()


def stream_path(address: str, token: str | None, pngs: list[bytes], batch: int, model_name: str, chunked: bool = False):
    """DetectStream: each image in one message (its header's data), as shared.client sends small images;
    chunked: header, one chunk and EndOfImage per image, the form the first four passes measured."""
    from terrafake.common.v1 import common_pb2
    from terrafake.detection.v1 import detection_service_pb2 as pb

    options = pb.DetectOptions(model_name=model_name)

    def setup(i):
        return _Channel(address, token)

    def one_round(ch, r):
        base = (abs(r) * batch) % len(pngs)
        items = [(f"{r}-{k}", pngs[(base + k) % len(pngs)]) for k in range(batch)]
        sent: dict[str, float] = {}

        def messages():
            for item_id, data in items:
                image = common_pb2.ImageHeader(size_bytes=len(data))
                if not chunked:
                    sent[item_id] = time.perf_counter()
                    yield pb.DetectStreamRequest(header=pb.DetectItemHeader(item_id=item_id, image=image, options=options,
                                                                            data=data))  # fmt: skip
                    continue
                yield pb.DetectStreamRequest(header=pb.DetectItemHeader(item_id=item_id, image=image, options=options))
                yield pb.DetectStreamRequest(chunk=common_pb2.ImageChunk(data=data))
                sent[item_id] = time.perf_counter()
                yield pb.DetectStreamRequest(end=pb.EndOfImage(item_id=item_id))

        got, bad = [], 0
        for resp in ch.stub.DetectStream(messages(), metadata=ch.md, timeout=120):
            now = time.perf_counter()
            if resp.WhichOneof("result") == "verdict":
                got.append(now - sent[resp.item_id])
            else:
                bad += 1
                if bad == 1 and r < 0:
                    raise RuntimeError(f"DetectStream item error: {resp.error.code} {resp.error.message}")
        if len(got) + bad != batch:
            raise RuntimeError(f"DetectStream answered {len(got) + bad} of {batch} items")
        return got, bad

    return setup, one_round


def detect_path(address: str, token: str | None, pngs: list[bytes], model_name: str, chunked: bool = False):
    """Detect: one image per call (in its header, or header + one chunk), one call at a time per client."""
    from terrafake.common.v1 import common_pb2
    from terrafake.detection.v1 import detection_service_pb2 as pb

    options = pb.DetectOptions(model_name=model_name)

    def setup(i):
        return _Channel(address, token)

    def one_round(ch, r):
        data = pngs[abs(r) % len(pngs)]
        image = common_pb2.ImageHeader(filename="x.png", size_bytes=len(data))
        if chunked:
            msgs = [pb.DetectRequest(header=pb.DetectHeader(image=image, options=options)),
                    pb.DetectRequest(chunk=common_pb2.ImageChunk(data=data))]  # fmt: skip
        else:
            msgs = [pb.DetectRequest(header=pb.DetectHeader(image=image, options=options, data=data))]
        t0 = time.perf_counter()
        ch.stub.Detect(iter(msgs), metadata=ch.md, timeout=60)
        return [time.perf_counter() - t0], 0

    return setup, one_round


def triton_direct_path(url: str, name: str, version: int, arrays: list[np.ndarray], batch: int):
    """tritonclient straight to Triton from this process: uint8 -> float32 NCHW, infer_detector (no service)."""
    from shared.models import from_uint8
    from shared.serving import TritonClient

    def setup(i):
        return TritonClient(url)

    def one_round(client, r):
        start = (abs(r) * batch) % len(arrays)
        imgs = np.stack([arrays[(start + k) % len(arrays)] for k in range(batch)])
        t0 = time.perf_counter()
        x = from_uint8(imgs).numpy().astype(np.float32)
        client.infer_detector(name, x, version=version)
        dt = time.perf_counter() - t0
        return [dt] * batch, 0

    return setup, one_round


def unbatched_copy(home: Path, triton_url: str, name: str, version: int) -> str:
    """The exported model again as `<name>-nobatch`, its config without `dynamic_batching`, loaded into Triton.

    Same files, backend and instance group: the only difference is that Triton runs every request as it
    comes (at its own batch size, 1 here) instead of merging queued requests.
    """
    import re
    import shutil

    from shared.serving import TritonClient

    source = home / "triton" / "models" / name
    target_name = f"{name}-nobatch"
    target = source.parent / target_name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    config = (target / "config.pbtxt").read_text()
    config = re.sub(r"dynamic_batching \{[^}]*\}\n?", "", config)
    config = re.sub(r'^name: ".*"$', f'name: "{target_name}"', config, count=1, flags=re.M)
    if "dynamic_batching" in config or f'name: "{target_name}"' not in config:
        raise RuntimeError(f"could not rewrite {target / 'config.pbtxt'}")
    (target / "config.pbtxt").write_text(config)
    with TritonClient(triton_url) as client:
        client.load_model(target_name, version)
    return target_name


# --- the local-backend server -------------------------------------------------------------------------


class LocalServer:
    """A detection server with inference_backend=local: a child process (default) or services.server.Server here."""

    def __init__(self, mode: str, env: dict[str, str], settings, log_path: Path):
        from shared.stack.procs import free_port

        self.mode = mode
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        self.proc = None
        self.server = None
        self.log_path = log_path
        if mode == "process":
            child_env = dict(env, TERRAFAKE_INFERENCE_BACKEND="local", TERRAFAKE_GRPC_ADDRESS=self.address, PYTHONUNBUFFERED="1")
            child_env["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO), child_env.get("PYTHONPATH", "")] if p)
            self.log = open(log_path, "wb")
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "services.server", "--services", "detection", "--no-supervisor"],
                stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=child_env, cwd=str(REPO),
                start_new_session=True,
            )  # fmt: skip
        else:
            from services.server import Server

            s = settings.with_overrides(inference_backend="local", grpc_host="127.0.0.1", grpc_port=port)
            self.server = Server(s, ["detection"], supervise=False)
            self.server.start()
        self._wait_healthy(60)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def _wait_healthy(self, timeout: float) -> None:
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the local detection server exited: {self.log_path.read_text(errors='replace')[-2000:]}")
            try:
                with grpc.insecure_channel(self.address) as ch:
                    r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=2)
                if r.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"the local detection server at {self.address} was not healthy in {timeout:.0f}s")

    def stop(self) -> list[str]:
        left = []
        if self.server is not None:
            self.server.stop(0)
        if self.proc is not None:
            pids = [self.proc.pid]
            with contextlib.suppress(psutil.Error):
                pids += [c.pid for c in psutil.Process(self.proc.pid).children(recursive=True)]
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            self.log.close()
            left = _still_alive(pids)
        return left


# --- model registration, export, promotion ----------------------------------------------------------------


def register_export_promote(address: str, token: str | None, database_url: str, home: Path, input_size: int,
                            deadline: Deadline, architecture: str = "detector-small",
                            model_name: str | None = None, overrides: dict | None = None) -> dict:  # fmt: skip
    from shared.client import connect
    from shared.db import Database
    from shared.models import create_model, save_model
    from shared.registry.store import RegistryStore
    from terrafake.jobs.v1 import job_pb2
    from terrafake.training.v1 import model_pb2, training_service_pb2 as tr_pb

    import torch

    torch.manual_seed(0)
    model = create_model(architecture, input_size=input_size, **(overrides or {}))
    vid = uuid.uuid4()
    model_dir = home / "models" / str(vid)
    save_model(model, model_dir)
    db = Database(database_url, max_size=2)
    try:
        row = RegistryStore(db).register(
            model_name=model_name or MODEL_NAME, kind="DETECTOR", architecture=architecture, training_job_id=None,
            dataset_version_id=None, config=dict(model.config), hyperparameters={}, metrics={}, history=[],
            artifacts={"model_dir": str(model_dir), "weights": str(model_dir / "model.safetensors"),
                       "config": str(model_dir / "config.json")},
            calibration=None, description="bench.detection: random init, for speed measurements only", version_id=vid,
        )  # fmt: skip
    finally:
        db.close()
    out = {"model_version_id": str(row["id"]), "version": row["version"], "model_dir": str(model_dir)}
    with connect(address, token) as client:
        t0 = time.monotonic()
        job = client.call(client.training.ExportModel, tr_pb.ExportModelRequest(
            model_version_id=str(row["id"]), format=tr_pb.EXPORT_FORMAT_ONNX, max_batch_size=64,
            idempotency_key=f"bench-detection-export-{row['id']}"), retry=True).job  # fmt: skip
        job = client.wait_job(job.id, timeout=max(10.0, min(240.0, deadline.left())))
        if job.state != job_pb2.JOB_STATE_SUCCEEDED:
            raise RuntimeError(f"export job {job.id} ended {job_pb2.JobState.Name(job.state)}: {job.error}")
        out["export_seconds"] = time.monotonic() - t0
        t0 = time.monotonic()
        client.call(client.training.PromoteModel, tr_pb.PromoteModelRequest(
            model_version_id=str(row["id"]), stage=model_pb2.MODEL_STAGE_PRODUCTION, reason="bench.detection"))  # fmt: skip
        out["promote_seconds"] = time.monotonic() - t0
        version = client.call(client.training.GetModelVersion, tr_pb.GetModelVersionRequest(model_version_id=str(row["id"])))
        out["stage"] = model_pb2.ModelStage.Name(version.model_version.stage)
    from google.protobuf.json_format import MessageToDict

    result = MessageToDict(job.result)
    out.update(triton_model=result.get("triton_model"), triton_version=int(result.get("triton_version", 0)),
               parity_max_abs_diff=result.get("parity_max_abs_diff"), export_format=result.get("export_format"))  # fmt: skip
    return out


# --- profile --------------------------------------------------------------------------------------


def profile_stages(pngs, arrays, model, database_url: str, settings, batch: int = 64, rounds: int = 20) -> dict:
    """Per-image cost of each step the local-backend service does for a DetectStream item, in this process."""
    import torch

    from services.images import decode_rgb
    from shared.db import Database
    from shared.models.detector.crops import CropPolicy
    from shared.inference import label_for
    from shared.registry.store import RegistryStore
    from shared.training.scoring import detector_scores
    from terrafake.common.v1 import common_pb2
    from terrafake.detection.v1 import detection_service_pb2 as pb

    policy = CropPolicy.from_config(model.config)
    imgs = pngs[:batch]
    t = {}

    def timed(name, fn, n):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        t[name] = (time.perf_counter() - t0) / n

    timed("decode PNG (decode_rgb)", lambda: [decode_rgb(b, settings) for b in imgs], rounds)
    decoded = [decode_rgb(b, settings) for b in imgs]
    timed("cut crops (CropPolicy.crops)", lambda: [policy.crops(np.asarray(im)) for im in decoded], rounds)
    db = Database(database_url, max_size=1)
    try:
        reg = RegistryStore(db)
        version = reg.resolve("", MODEL_NAME, "DETECTOR")
        # A stream looks its model up once, and again each VERSION_REFRESH_SECONDS: one lookup per batch.
        timed("registry.resolve (Postgres query, once per stream)", lambda: reg.resolve("", MODEL_NAME, "DETECTOR"), rounds)
    finally:
        db.close()

    def fwd():
        with torch.inference_mode():
            detector_scores(model, arrays[:batch], batch_size=batch)

    fwd()
    timed("model forward (detector_scores)", fwd, rounds)

    def verdicts():
        for k in range(batch):
            label, threshold, lower, upper = label_for(0.5, version.get("calibration"))
            v = pb.Verdict(p_generated=0.5, label=pb.DetectionLabel.Value(f"DETECTION_LABEL_{label}"), threshold=threshold,
                           uncertain_lower=lower, uncertain_upper=upper, model_version_id=str(version["id"]),
                           image_width=policy.size, image_height=policy.size)  # fmt: skip
            pb.DetectStreamResponse(item_id=str(k), verdict=v).SerializeToString()

    timed("verdict messages (build + serialize)", verdicts, rounds)
    options = pb.DetectOptions(model_name=MODEL_NAME)

    def client_messages():
        for k, data in enumerate(imgs):
            pb.DetectStreamRequest(header=pb.DetectItemHeader(item_id=str(k), image=common_pb2.ImageHeader(size_bytes=len(data)),
                                                              options=options)).SerializeToString()  # fmt: skip
            pb.DetectStreamRequest(chunk=common_pb2.ImageChunk(data=data)).SerializeToString()
            pb.DetectStreamRequest(end=pb.EndOfImage(item_id=str(k))).SerializeToString()

    timed("client request messages, chunked: 3 per image (build + serialize)", client_messages, rounds)

    def client_messages_inline():
        for k, data in enumerate(imgs):
            pb.DetectStreamRequest(header=pb.DetectItemHeader(item_id=str(k), image=common_pb2.ImageHeader(size_bytes=len(data)),
                                                              options=options, data=data)).SerializeToString()  # fmt: skip

    timed("client request messages, inline: 1 per image (build + serialize)", client_messages_inline, rounds)
    return {name: 1000 * seconds / batch for name, seconds in t.items()}  # ms per image


# --- report ----------------------------------------------------------------------------------------


def row(label: str, r: dict | None, limit: dict) -> list | None:
    if not r or "images_per_s" not in r:
        return None
    ref = limit.get(r["batch"])
    tri = (r.get("triton") or {}).get("avg_executed_batch")
    return [label, r["batch"], r["clients"], r["images"], r["images_per_s"],
            (r["images_per_s"] / ref) if ref else float("nan"), r["latency"]["p50_ms"], r["latency"]["p99_ms"],
            tri if tri is not None else float("nan"), r.get("errors", 0)]  # fmt: skip


def main(argv=None) -> int:
    args = parse_args(argv)
    info = machine_info()
    deadline = Deadline(args.timeout, "bench.detection")
    results: dict = {"benchmark": "detection", "machine": info, "args": vars(args), "runs": {}}
    print(f"machine: {machine_line(info)}")
    pngs, arrays = naip_crops(args.images, args.input_size)
    results["images"] = {"count": len(pngs), "size": args.input_size, "mean_png_bytes": float(np.mean([len(b) for b in pngs]))}
    print(f"[images] {len(pngs)} real {args.input_size}-px NAIP crops, PNG mean {results['images']['mean_png_bytes']:.0f} B")

    def run(address: str, token: str | None, database_url: str, redis_url: str | None, home: Path, triton_url: str | None,
            env: dict, settings, stack=None) -> None:  # fmt: skip
        from shared.models import load_model

        print("[model] registering detector-small, ExportModel (ONNX, max batch 64), PromoteModel ...")
        reg = register_export_promote(address, token, database_url, home, args.input_size, deadline)
        results["model"] = reg
        print(f"[model] v{reg['version']} exported in {reg['export_seconds']:.1f}s (parity {reg['parity_max_abs_diff']}), "
              f"promoted in {reg['promote_seconds']:.1f}s -> {reg['stage']}, Triton {reg['triton_model']}/{reg['triton_version']}")  # fmt: skip
        cfg = home / "triton" / "models" / str(reg["triton_model"]) / "config.pbtxt"
        with contextlib.suppress(OSError):
            results["triton_config"] = cfg.read_text()
        model = load_model(reg["model_dir"])
        results["model"]["parameters"] = sum(p.numel() for p in model.parameters())

        roots: dict[str, list[int]] = {}
        if stack is not None:
            roots["stack gRPC server"] = [(stack.process("grpc") or {}).get("pid")]
            roots["tritonserver (+ python backend)"] = [(stack.process("triton") or {}).get("pid")]
            with contextlib.suppress(OSError, ValueError, IndexError):
                pg_dir = Path(stack.state["postgres"]["data_dir"])
                roots["postgres"] = [int((pg_dir / "postmaster.pid").read_text().split()[0])]
        local = LocalServer(args.local_server, env, settings, home / "logs" / "bench-local-detection-server.log")
        results["local_server"] = {"mode": args.local_server, "address": local.address}
        try:
            meter_roots = dict(roots)
            if local.pid:
                meter_roots["local detection server"] = [local.pid]
            meter = CpuMeter(meter_roots)
            tstats = TritonStats(triton_url, reg["triton_model"], reg["triton_version"])
            runs = results["runs"]
            secs, cap = args.seconds, args.max_images

            def cell(key: str, make, batch: int, clients: int, use_triton: bool = False, seconds: float | None = None):
                if deadline.left() < (seconds or secs) + 10:
                    print(f"  skip {key}: out of time budget")
                    runs[key] = {"skipped": "time budget"}
                    return
                setup, one = make()
                r = run_clients(setup, one, clients=clients, batch=batch, seconds=seconds or secs, max_images=cap,
                                deadline=deadline, meter=meter, triton=tstats if use_triton else None)  # fmt: skip
                runs[key] = r
                tri = r.get("triton") or {}
                extra = f", Triton avg batch {tri['avg_executed_batch']:.1f}" if tri.get("executions") else ""
                print(f"  {key}: {r['images_per_s']:,.0f} images/s, p50 {r['latency']['p50_ms']:.2f} ms, "
                      f"p99 {r['latency']['p99_ms']:.2f} ms ({r['images']} images{extra})")  # fmt: skip

            print("[runs] forward pass, local DetectStream, Triton DetectStream ...")
            for clients in args.clients:
                for b in args.batch_sizes:
                    cell(f"forward b{b} c{clients}", lambda b=b: forward_path(model, arrays, b), b, clients)
                    cell(f"local stream b{b} c{clients}", lambda b=b: stream_path(local.address, token, pngs, b, MODEL_NAME, args.chunked), b, clients)
                    cell(f"triton stream b{b} c{clients}", lambda b=b: stream_path(address, token, pngs, b, MODEL_NAME, args.chunked), b, clients, True)
            print("[runs] Detect, one image per call ...")
            for clients in args.clients:
                cell(f"triton detect c{clients}", lambda: detect_path(address, token, pngs, MODEL_NAME, args.chunked), 1, clients, True)
                if not args.no_detect_local:
                    cell(f"local detect c{clients}", lambda: detect_path(local.address, token, pngs, MODEL_NAME, args.chunked), 1, clients)
            if triton_url and not args.no_profile:
                print("[runs] tritonclient straight to Triton (no service) ...")
                for b in args.batch_sizes:
                    cell(f"triton direct b{b} c1", lambda b=b: triton_direct_path(triton_url, reg["triton_model"], reg["triton_version"], arrays, b),
                         b, 1, True, seconds=min(secs, 3.0))  # fmt: skip
                cell(f"triton direct b1 c{max(args.clients)}",
                     lambda: triton_direct_path(triton_url, reg["triton_model"], reg["triton_version"], arrays, 1),
                     1, max(args.clients), True, seconds=min(secs, 3.0))  # fmt: skip
            if triton_url:
                # The batching target: the same single-image requests from the same clients, with Triton's
                # dynamic batcher on (the exported config) and off (a copy without it).
                nobatch = unbatched_copy(home, triton_url, reg["triton_model"], reg["triton_version"])
                results["model"]["triton_model_nobatch"] = nobatch
                c = max(args.clients)
                print(f"[runs] single-image requests, {c} clients, Triton dynamic batching on and off ...")
                cell(f"dynbatch on b1 c{c}",
                     lambda: triton_direct_path(triton_url, reg["triton_model"], reg["triton_version"], arrays, 1),
                     1, c, True)  # fmt: skip
                nostats = TritonStats(triton_url, nobatch, reg["triton_version"])
                setup, one = triton_direct_path(triton_url, nobatch, reg["triton_version"], arrays, 1)
                if deadline.left() > secs + 10:
                    r = run_clients(setup, one, clients=c, batch=1, seconds=secs, max_images=cap, deadline=deadline,
                                    meter=meter, triton=nostats)  # fmt: skip
                    runs[f"dynbatch off b1 c{c}"] = r
                    print(f"  dynbatch off b1 c{c}: {r['images_per_s']:,.0f} images/s, p50 {r['latency']['p50_ms']:.2f} ms")
                nostats.close()
            print("[runs] forward pass again, 1 client (the limit is the mean of both) ...")
            for b in args.batch_sizes:
                cell(f"forward again b{b} c1", lambda b=b: forward_path(model, arrays, b), b, 1)
            b = max(args.batch_sizes)
            if args.overhead_repeats:
                # Back-to-back pairs: the forward pass alone varies by 10-20% between runs on a shared
                # machine, so one pair is a noisy reading of a 10% target.
                print(f"[runs] forward pass and local DetectStream at batch {b}, 1 client, alternated "
                      f"{args.overhead_repeats} times ...")  # fmt: skip
                for i in range(1, args.overhead_repeats + 1):
                    cell(f"pair {i} forward b{b} c1", lambda: forward_path(model, arrays, b), b, 1)
                    cell(f"pair {i} local stream b{b} c1",
                         lambda: stream_path(local.address, token, pngs, b, MODEL_NAME, args.chunked), b, 1)  # fmt: skip
            tstats.close()
            if not args.no_profile and deadline.left() > 15:
                print("[profile] the local-backend service path, stage by stage, in this process ...")
                results["profile_ms_per_image"] = profile_stages(pngs, arrays, model, database_url, settings,
                                                                 batch=max(args.batch_sizes))  # fmt: skip
        finally:
            left = local.stop()
            if left:
                print(f"[local server] WARNING: still running: {left}", file=sys.stderr)
            else:
                print(f"[local server] stopped ({args.local_server})")
            results["local_server"]["left_running"] = left

    our_pids: list[int] = []
    home_marker = None
    if args.address:
        from shared.config import Settings

        if not (args.database_url and args.home):
            print("--address needs --database-url and --home (to register the model)", file=sys.stderr)
            return 2
        token = args.token or os.environ.get("TERRAFAKE_TOKEN")
        home = Path(args.home).expanduser()
        env = dict(os.environ, DATABASE_URL=args.database_url, TERRAFAKE_HOME=str(home))
        if args.redis_url:
            env["REDIS_URL"] = args.redis_url
        settings = Settings.from_env(env).with_overrides(database_url=args.database_url, redis_url=args.redis_url)
        run(args.address, token, args.database_url, args.redis_url, home, args.triton_url, env, settings)
    else:
        from shared.config import Settings

        with local_stack(queues=("cpu",)) as stack:
            home_marker = str(stack.home)
            try:
                settings = Settings.from_env().with_overrides(database_url=stack.database_url, redis_url=stack.redis_url)
                run(stack.grpc_address, admin_token(stack), stack.database_url, stack.redis_url, Path(stack.home),
                    stack.triton_url, stack.child_env(), settings, stack)  # fmt: skip
            except Exception:
                print(f"--- worker-cpu log tail ---\n{log_tail(stack, 'worker-cpu')}", file=sys.stderr)
                print(f"--- grpc log tail ---\n{log_tail(stack, 'grpc')}", file=sys.stderr)
                raise
            finally:
                tr = stack.process("triton") or {}
                if tr.get("pid"):
                    our_pids.append(tr["pid"])
                    with contextlib.suppress(psutil.Error):
                        our_pids += [c.pid for c in psutil.Process(tr["pid"]).children(recursive=True)]
        # local_stack's own check does not cover Triton: check it and anything else with our home in its command line.
        end = time.monotonic() + 20
        left = _still_alive(our_pids)
        while left and time.monotonic() < end:
            time.sleep(0.2)
            left = _still_alive(our_pids)
        stray = []
        for p in psutil.process_iter(["pid", "cmdline"]):
            with contextlib.suppress(psutil.Error, TypeError):
                cmd = " ".join(p.info["cmdline"] or [])
                if home_marker and home_marker in cmd and p.pid != os.getpid():
                    stray.append(f"{p.pid} {cmd[:100]}")
        results["left_running"] = left + stray
        if left or stray:
            print(f"[stack] WARNING: still running: {left + stray}", file=sys.stderr)
        else:
            print(f"[stack] Triton down too: none of its {len(our_pids)} pids is left, nothing runs with {home_marker}")

    report(results, args)
    path = write_results("detection", results)
    print(f"wrote {path}")
    return 0


def report(results: dict, args) -> None:
    runs = results["runs"]
    limit = {}
    for b in args.batch_sizes:
        both = [runs.get(k, {}).get("images_per_s") for k in (f"forward b{b} c1", f"forward again b{b} c1")]
        both = [x for x in both if x]
        limit[b] = sum(both) / len(both) if both else None
    results["forward_limit_images_per_s"] = limit
    rows = []
    for clients in args.clients:
        for b in args.batch_sizes:
            rows.append(row("forward pass (detector_scores, this process)", runs.get(f"forward b{b} c{clients}"), limit))
            rows.append(row("DetectStream, local backend", runs.get(f"local stream b{b} c{clients}"), limit))
            rows.append(row("DetectStream, Triton backend", runs.get(f"triton stream b{b} c{clients}"), limit))
    for clients in args.clients:
        rows.append(row("Detect, 1 image per call, Triton", runs.get(f"triton detect c{clients}"), limit))
        rows.append(row("Detect, 1 image per call, local", runs.get(f"local detect c{clients}"), limit))
    for b in args.batch_sizes:
        rows.append(row("forward pass again (after all runs)", runs.get(f"forward again b{b} c1"), limit))
    for key in sorted(k for k in runs if k.startswith("triton direct")):
        rows.append(row("tritonclient -> Triton direct (no service)", runs[key], limit))
    for key, label in (("on", "dynamic batching on"), ("off", "dynamic batching off (copy)")):
        rows.append(row(f"tritonclient -> Triton, 1 image/request, {label}", runs.get(f"dynbatch {key} b1 c{max(args.clients)}"), limit))
    rows = [r for r in rows if r]
    m = results.get("model", {})
    print()
    print(f"Detection: detector-small at {args.input_size} px ({m.get('parameters', 0):,} parameters, random init), "
          f"{results['images']['count']} real NAIP crops as PNG; local server: {args.local_server}; "
          f"{args.seconds:g} s per run; 'x fwd' = images/s over the forward pass at the same batch, 1 client (mean of its two runs)")  # fmt: skip
    print(table(["path", "batch", "clients", "images", "images/s", "x fwd", "p50 ms", "p99 ms", "Triton avg batch", "errors"],
                rows, digits=2))  # fmt: skip

    cpu_rows = []
    names: list[str] = []
    for key, r in runs.items():
        if "cpu" in r and not key.startswith("forward"):
            for n in r["cpu"]["cpu_ms_per_image"]:
                if n not in names:
                    names.append(n)
    for key, r in runs.items():
        if "cpu" in r and not key.startswith("forward"):
            c = r["cpu"]["cpu_ms_per_image"]
            cpu_rows.append([key, *[c.get(n, float("nan")) for n in names], 1000 / max(r["images_per_s"], 1e-9), r["cpu"]["machine_busy_cores"]])
    if cpu_rows:
        print("\nCPU per image (ms) by process, and wall ms per image; machine has "
              f"{results['machine']['cores']} cores")
        print(table(["run", *names, "wall ms/image", "busy cores"], cpu_rows, digits=3))

    prof = results.get("profile_ms_per_image")
    if prof:
        per_img = 1000 / runs[f"local stream b{max(args.batch_sizes)} c1"]["images_per_s"] if runs.get(f"local stream b{max(args.batch_sizes)} c1", {}).get("images_per_s") else float("nan")
        print(f"\nProfile of the local-backend DetectStream path at batch {max(args.batch_sizes)} (this process, per image); "
              f"measured through the service: {per_img:.3f} ms/image")  # fmt: skip
        total = sum(prof.values())
        prow = [[k, v, 100 * v / total] for k, v in sorted(prof.items(), key=lambda kv: -kv[1])]
        prow.append(["sum of the stages", total, 100.0])
        print(table(["stage", "ms/image", "% of stages"], prow, digits=3))

    # targets
    b = max(args.batch_sizes)
    targets = {}
    pairs = []  # (forward, local stream) images/s of each back-to-back pair, the first run's pair included
    for fwd_key, loc_key in [(f"forward b{b} c1", f"local stream b{b} c1")] + [
        (f"pair {i} forward b{b} c1", f"pair {i} local stream b{b} c1") for i in range(1, args.overhead_repeats + 1)
    ]:
        f, l = runs.get(fwd_key, {}).get("images_per_s"), runs.get(loc_key, {}).get("images_per_s")
        if f and l:
            pairs.append((f, l))
    if pairs:
        overheads = sorted(1 - l / f for f, l in pairs)
        overhead = statistics.median(overheads)
        print(f"\nService overhead at batch {b}, 1 client, back-to-back pairs (forward pass, then local DetectStream):")
        print(table(["pair", "forward images/s", "local DetectStream images/s", "overhead"],
                    [[i, f, l, f"{1 - l / f:+.1%}"] for i, (f, l) in enumerate(pairs)], digits=1))  # fmt: skip
        targets["service_overhead"] = {"batch": b, "pairs_images_per_s": pairs, "overheads": overheads,
                                       "overhead": overhead, "target_max": TARGET_OVERHEAD,
                                       "met": overhead <= TARGET_OVERHEAD}  # fmt: skip
        print(f"\ntarget: service overhead <= {TARGET_OVERHEAD:.0%} of the forward pass at batch {b} (local DetectStream, 1 client): "
              f"median of {len(pairs)} pairs {overhead:+.1%} (range {overheads[0]:+.1%} to {overheads[-1]:+.1%}) "
              f"-> {verdict(overhead <= TARGET_OVERHEAD)}")  # fmt: skip
    c = max(args.clients)
    tri, single = runs.get(f"triton stream b{b} c{c}", {}), runs.get(f"triton detect c{c}", {})
    if tri.get("images_per_s") and single.get("images_per_s"):
        x = tri["images_per_s"] / single["images_per_s"]
        targets["triton_batching"] = {"batch": b, "clients": c, "stream_images_per_s": tri["images_per_s"],
                                      "single_images_per_s": single["images_per_s"], "ratio": x,
                                      "target_min": TARGET_BATCHING_X, "met": x >= TARGET_BATCHING_X}  # fmt: skip
        print(f"target: Triton batched (DetectStream batch {b}, {c} clients) >= {TARGET_BATCHING_X:g}x unbatched single-image "
              f"Detect ({c} clients): {tri['images_per_s']:,.0f} vs {single['images_per_s']:,.0f} images/s = {x:.2f}x "
              f"-> {verdict(x >= TARGET_BATCHING_X)}")  # fmt: skip
    on, off = runs.get(f"dynbatch on b1 c{c}", {}), runs.get(f"dynbatch off b1 c{c}", {})
    if on.get("images_per_s") and off.get("images_per_s"):
        x = on["images_per_s"] / off["images_per_s"]
        targets["triton_dynamic_batching"] = {"clients": c, "on_images_per_s": on["images_per_s"],
                                              "off_images_per_s": off["images_per_s"], "ratio": x,
                                              "target_min": TARGET_BATCHING_X, "met": x >= TARGET_BATCHING_X}  # fmt: skip
        print(f"target: Triton dynamic batching >= {TARGET_BATCHING_X:g}x unbatched, single-image requests from {c} clients "
              f"straight to Triton: {on['images_per_s']:,.0f} (on) vs {off['images_per_s']:,.0f} (off) images/s = {x:.2f}x "
              f"-> {verdict(x >= TARGET_BATCHING_X)}")  # fmt: skip
    results["targets"] = targets


if __name__ == "__main__":
    sys.exit(main())
