"""How fast the web console answers: list pages of 500 items and quiz rounds, against the local stack.

    PYTHONPATH=. .venv/bin/python -m bench.console [--requests 60]

A fresh local stack (local inference backend, a cpu and a gpu worker) with the console `stack up` starts.
It is filled with 500 datasets and 500 finished diagnostic jobs, and one dataset of 60 real and 60
"generated" tiles (labelled so; the quiz needs only the labels). Then, from one signed-in HTTP
client (httpx, cookies kept, as a browser would), one request at a time:
- GET /datasets and GET /jobs, each listing 500 rows (one gRPC page of 500 behind each);
- quiz rounds as an anonymous player: GET /quiz (draw a tile: one StartQuizRound, which also runs
  the production detector, a small one trained here, on it) and POST /quiz/answer (one
  AnswerQuizRound).
Reports p50 / p95 / max per page. Targets (issue #17): list pages p95 < 150 ms, a quiz round
(draw + answer) < 100 ms. Prints the table and writes bench/results/console.{json,txt}.
"""

from __future__ import annotations

import argparse
import io
import re
import time

import numpy as np
from PIL import Image

from bench._common import admin_token, local_stack, machine_info, machine_line, percentile, table, write_results


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=60, help="timed requests per page (default 60)")
    return p.parse_args(argv)


def _png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, "PNG")
    return out.getvalue()


def fill(client) -> str:
    """500 datasets, 500 finished jobs, and the quiz's dataset version; returns that version's id."""
    from terrafake.ingestion.v1 import ingestion_service_pb2 as ing_pb
    from terrafake.training.v1 import model_pb2, training_service_pb2 as tr_pb

    for i in range(500):
        client.create_dataset(f"bench-console-{i:03d}")
    jobs = [client.start_diagnostic_job(seconds=0, steps=1) for _ in range(500)]
    for job in jobs:
        client.wait_job(job.id, timeout=600)
    quiz = client.create_dataset("demo-aerial-bench-console")
    rng = np.random.default_rng(0)
    for label, count in (("real", 60), ("generated", 60)):
        files = [(f"{label}-{i}.png", _png(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))) for i in range(count)]
        client.wait_job(client.upload(files, {"dataset_id": quiz.id, "labels": {"authenticity": label}}).job.id,
                        timeout=600)  # fmt: skip
    version = client.call(client.ingestion.CreateDatasetVersion, ing_pb.CreateDatasetVersionRequest(
        dataset_id=quiz.id, split={"train_fraction": 0.5, "val_fraction": 0.25, "test_fraction": 0.25,
                                   "grouping": 1})).dataset_version  # fmt: skip
    # A production "detector", so that each quiz round also runs it on the tile (as with `make demo`).
    job = client.call(client.training.StartTraining, tr_pb.StartTrainingRequest(
        model_kind=model_pb2.MODEL_KIND_DETECTOR, architecture="detector-small", dataset_version_id=version.id,
        max_steps=20, model_name="detector",
        hyperparameters={"model": {"input_size": 32}, "batch_size": 16})).job  # fmt: skip
    done = client.wait_job(job.id, timeout=900)
    client.promote(done.result["model_version_id"], "production")
    return version.id


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main(argv=None) -> int:
    import httpx

    from shared.client import connect

    args = parse_args(argv)
    info = machine_info()
    print(machine_line(info), flush=True)
    results = {}
    with local_stack(queues=("cpu", "gpu"), env={"TERRAFAKE_INFERENCE_BACKEND": "local",
                                                             # one client plays every round: no per-address limit
                                                             "TERRAFAKE_WEB_QUIZ_RATE": "1000"}) as stack:
        token = admin_token(stack)
        with connect(stack.grpc_address, token) as client:
            t0 = time.monotonic()
            fill(client)
            print(f"[bench] filled in {time.monotonic() - t0:.0f}s", flush=True)
        web = stack.web_url
        with httpx.Client(base_url=web, follow_redirects=True, timeout=30) as browser:
            page = browser.get("/signin")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)[1]
            assert browser.post("/signin", data={"csrf": csrf, "token": token}).url.path == "/datasets"

            def listing(path: str, rows: int):
                def get():
                    r = browser.get(path)
                    assert r.status_code == 200 and r.text.count("<tr>") >= rows, (path, r.status_code)

                return get

            listing("/datasets", 500)()  # warm
            results["GET /datasets (500 rows)"] = timed(listing("/datasets", 500), args.requests)
            results["GET /jobs (500 rows)"] = timed(listing("/jobs", 500), args.requests)
        with httpx.Client(base_url=web, follow_redirects=False, timeout=30) as player:
            draws, answers, rounds = [], [], []
            for _ in range(args.requests + 1):
                t0 = time.perf_counter()
                r = player.get("/quiz")
                if r.status_code == 303:  # a game is 5 rounds: start another
                    csrf = re.search(r'name="csrf" value="([^"]+)"', player.get("/quiz/summary").text)[1]
                    player.post("/quiz/again", data={"csrf": csrf})
                    t0 = time.perf_counter()
                    r = player.get("/quiz")
                t1 = time.perf_counter()
                assert r.status_code == 200, (r.status_code, re.findall(r'class="error"[^>]*>(.*?)</p>', r.text, re.S))
                csrf = re.search(r'name="csrf" value="([^"]+)"', r.text)[1]
                round_token = re.search(r'name="round" value="([^"]+)"', r.text)[1]
                a = player.post("/quiz/answer", data={"csrf": csrf, "round": round_token, "answer": "real"})
                t2 = time.perf_counter()
                assert a.status_code == 200 and "It was" in a.text and "The detector said" in a.text, a.text[:300]
                draws.append(t1 - t0)
                answers.append(t2 - t1)
                rounds.append(t2 - t0)
            results["quiz: GET /quiz (draw a tile)"] = draws[1:]  # the first pays for the dataset lookup
            results["quiz: POST /quiz/answer"] = answers[1:]
            results["quiz: one round (draw + answer)"] = rounds[1:]
    targets = {"GET /datasets (500 rows)": 0.150, "GET /jobs (500 rows)": 0.150, "quiz: one round (draw + answer)": 0.100}
    rows = []
    for name, values in results.items():
        ms = [v * 1000 for v in values]
        target = targets.get(name)
        verdict = "" if target is None else ("met" if percentile(ms, 95) < target * 1000 else "MISSED")
        rows.append([name, len(ms), percentile(ms, 50), percentile(ms, 95), max(ms),
                     f"p95 < {target * 1000:.0f} ms: {verdict}" if target else ""])  # fmt: skip
    text = table(["page", "requests", "p50 ms", "p95 ms", "max ms", "target"], rows)
    print(text)
    path = write_results("console", {"machine": info, "arguments": vars(args), "seconds": results, "text": text})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
