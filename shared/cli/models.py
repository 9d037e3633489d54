"""CLI commands for training, the model registry, evaluation, generation, detection and colorization."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from shared.cli import output
from shared.cli.data import parse_pairs
from shared.cli.errors import UsageError
from terrafake.detection.v1 import detection_service_pb2 as det_pb
from terrafake.generation.v1 import generation_service_pb2 as gen_pb
from terrafake.ingestion.v1 import dataset_pb2
from terrafake.training.v1 import evaluation_pb2 as ev_pb, model_pb2, training_service_pb2 as tr_pb

KINDS = {"generator": 1, "detector": 2, "colorizer": 3}


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _versioned(args) -> dict:
    return {"model_version_id": args.version or "", "model_name": args.model or ""}


def start_training(args, client):
    hparams = {k: _value(v) for k, v in parse_pairs(args.param, "--param").items()}
    model = {k: _value(v) for k, v in parse_pairs(args.model_param, "--model-param").items()}
    if model:
        hparams["model"] = model
    req = tr_pb.StartTrainingRequest(
        model_kind=KINDS[args.kind], model_name=args.model_name or "", architecture=args.architecture or "",
        dataset_version_id=args.dataset_version, hyperparameters=hparams, max_steps=args.steps,
        checkpoint_interval_steps=args.checkpoint_interval, resume_from_job_id=args.resume_from or "",
        resources=tr_pb.TrainingResources(device=tr_pb.DevicePreference.Value(f"DEVICE_PREFERENCE_{args.device.upper()}"),
                                          mixed_precision=args.mixed_precision),
        idempotency_key=args.idempotency_key or "",
    )  # fmt: skip
    return client.call(client.training.StartTraining, req).job


def _version_row(v) -> list[str]:
    stage = model_pb2.ModelStage.Name(v.stage).removeprefix("MODEL_STAGE_").lower()
    loss = v.metrics.get("loss")
    return [v.id, f"{v.model_name} v{v.version}", v.architecture, stage, f"{loss:.4f}" if loss is not None else ""]


def cmd_models(args, client) -> int:
    a = args.action
    if a == "list":
        req = tr_pb.ListModelsRequest(kind=KINDS.get(args.kind or "", 0))
        resp = client.call(client.training.ListModels, req)
        if args.json:
            output.emit_json(resp)
        else:
            rows = [[m.name, model_pb2.ModelKind.Name(m.kind).removeprefix("MODEL_KIND_").lower(), str(m.version_count)]
                    for m in resp.models]  # fmt: skip
            print(output.table(rows, ["model", "kind", "versions"]))
    elif a in ("get", "versions"):
        stages = [model_pb2.ModelStage.Value("MODEL_STAGE_" + s.upper()) for s in (getattr(args, "stage", None) or [])]
        resp = client.call(client.training.ListModelVersions, tr_pb.ListModelVersionsRequest(model_name=args.name,
                                                                                           stages=stages))  # fmt: skip
        if args.json:
            output.emit_json(resp)
        else:
            print(output.table([_version_row(v) for v in resp.model_versions],
                               ["version id", "model", "architecture", "stage", "loss"]))  # fmt: skip
    elif a == "promote":
        req = tr_pb.PromoteModelRequest(model_version_id=args.version_id,
                                        stage=model_pb2.ModelStage.Value("MODEL_STAGE_" + args.stage.upper()))  # fmt: skip
        resp = client.call(client.training.PromoteModel, req)
        if args.json:
            output.emit_json(resp)
        else:
            print(f"{resp.model_version.model_name} v{resp.model_version.version} is now {args.stage}")
            if resp.HasField("archived_version"):
                print(f"archived {resp.archived_version.model_name} v{resp.archived_version.version}")
    elif a == "export":
        fmt = tr_pb.ExportFormat.Value("EXPORT_FORMAT_" + args.format.upper())
        return client.call(client.training.ExportModel, tr_pb.ExportModelRequest(
            model_version_id=args.version_id, format=fmt, overwrite=args.overwrite)).job  # fmt: skip
    return 0


def start_evaluation(args, client):
    split = dataset_pb2.Split.Value("SPLIT_" + args.split.upper()) if args.split else 0
    req = tr_pb.StartEvaluationRequest(model_version_id=args.version_id, dataset_version_id=args.dataset_version,
                                       split=split, max_images=args.max_images)  # fmt: skip
    if args.leave_one_family_out:
        lofo = ev_pb.LeaveOneOutOptions(enabled=True, max_steps=args.leave_one_out_steps)
        req.detector.CopyFrom(ev_pb.DetectorEvaluationOptions(leave_one_family_out=lofo))
    return client.call(client.training.StartEvaluation, req).job


def start_zoo(args, client):
    families = [f.strip() for f in (args.families or "").split(",") if f.strip()]
    req = gen_pb.GenerateZooRequest(dataset_id=args.dataset, dataset_version_id=args.dataset_version,
                                    families=families, fit_steps=args.fit_steps, seed=args.seed,
                                    max_images=args.max_images, idempotency_key=args.idempotency_key or "")  # fmt: skip
    return client.call(client.generation.GenerateZoo, req).job


def print_evaluation(client, evaluation_id: str, as_json: bool) -> None:
    ev = client.call(client.training.GetEvaluation, tr_pb.GetEvaluationRequest(evaluation_id=evaluation_id)).evaluation
    if as_json:
        output.emit_json(ev)
        return
    for key in sorted(ev.metrics):
        if "." not in key:
            print(f"  {key:<28} {ev.metrics[key]:.4f}")
    if ev.HasField("detector") and ev.detector.leave_one_family_out:
        print("  left out       ROC-AUC  accuracy  type I  type II  JPEG q75 ROC-AUC")
        for row in ev.detector.leave_one_family_out:
            m = row.metrics
            print(f"  {row.family:<14} {m.roc_auc:7.3f}  {m.accuracy:8.3f}  {m.type_i_error_rate:6.3f}  "
                  f"{m.type_ii_error_rate:7.3f}  {row.jpeg_q75_roc_auc:16.3f}")


def cmd_generate(args, client) -> int:
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    sampler = gen_pb.Sampler.Value("SAMPLER_" + args.sampler.upper())
    written = []
    images = client.generate(count=args.count, seed=args.seed, randomize_seed=args.random_seed,
                             sampling=gen_pb.SamplingOptions(sampler=sampler, steps=args.steps, eta=args.eta),
                             **_versioned(args))  # fmt: skip
    for header, data in images:
        path = out / f"generated-{header.seed}.png"
        path.write_bytes(data)
        written.append(str(path))
        if not args.json:
            print(f"wrote {path} ({header.width}x{header.height}, seed {header.seed})", flush=True)
    if args.json:
        output.emit_json({"files": written})
    return 0


def cmd_detect(args, client) -> int:
    from PIL import Image

    from shared.models import overlay_heatmap

    results = []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise UsageError(f"{name} is not a file")
        v = client.detect(path.read_bytes(), want_heatmap=bool(args.heatmaps), **_versioned(args))
        label = det_pb.DetectionLabel.Name(v.label).removeprefix("DETECTION_LABEL_").lower()
        row = {"file": name, "p_generated": round(v.p_generated, 6), "label": label, "threshold": v.threshold}
        if args.heatmaps and v.heatmap.png:
            import numpy as np

            folder = Path(args.heatmaps)
            folder.mkdir(parents=True, exist_ok=True)
            heat = np.asarray(Image.open(io.BytesIO(v.heatmap.png)), dtype=np.float32) / 255.0
            image = Image.open(path).convert("RGB")
            target = folder / f"{path.stem}-heatmap.png"
            overlay_heatmap(image, heat).save(target)
            row["heatmap"] = str(target)
        results.append(row)
        if not args.json:
            extra = f"  heatmap: {row['heatmap']}" if "heatmap" in row else ""
            print(f"{name}: {label} (p_generated {v.p_generated:.4f}, threshold {v.threshold:.3f}){extra}")
    if args.json:
        output.emit_json(results)
    return 0


def cmd_colorize(args, client) -> int:
    from PIL import Image

    path = Path(args.input)
    if not path.is_file():
        raise UsageError(f"{args.input} is not a file")
    data = client.colorize(path.read_bytes(), **_versioned(args))
    Path(args.output).write_bytes(data)
    width, height = Image.open(io.BytesIO(data)).size
    print(f"wrote {args.output} ({width}x{height})", file=sys.stderr if args.json else sys.stdout)
    return 0


def add_parsers(sub, funcs: dict) -> None:
    p = sub.add_parser("train", help="train a generator, detector or colorizer (runs a job)")
    p.set_defaults(func=funcs["train"])
    p.add_argument("kind", choices=list(KINDS))
    p.add_argument("--dataset-version", required=True)
    p.add_argument("--architecture")
    p.add_argument("--model-name")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--checkpoint-interval", type=int, default=0)
    p.add_argument("--param", action="append", help="hyperparameter key=value, e.g. batch_size=16 (repeatable)")
    p.add_argument("--model-param", action="append", help="model override key=value, e.g. image_size=32")
    p.add_argument("--resume-from", help="a cancelled or failed training job to continue")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--mixed-precision", action="store_true")
    p.add_argument("--idempotency-key")
    p.add_argument("--no-watch", dest="watch", action="store_false")

    top = sub.add_parser("models", help="the model registry")
    top.set_defaults(func=funcs["models"])
    m = top.add_subparsers(dest="action", required=True)
    m.add_parser("list", help="list models").add_argument("--kind", choices=list(KINDS))
    m.add_parser("get", help="a model's versions").add_argument("name")
    v = m.add_parser("versions", help="a model's versions, by stage")
    v.add_argument("name")
    v.add_argument("--stage", action="append", choices=["none", "staging", "production", "archived"])
    pr = m.add_parser("promote", help="move a version to a stage (admin); production loads it into Triton")
    pr.add_argument("version_id")
    pr.add_argument("--stage", required=True, choices=["none", "staging", "production", "archived"])
    ex = m.add_parser("export", help="export a version to Triton (runs a job)")
    ex.add_argument("version_id")
    ex.add_argument("--format", choices=["onnx", "torchscript"], default="onnx")
    ex.add_argument("--overwrite", action="store_true")
    ex.add_argument("--no-watch", dest="watch", action="store_false")

    e = sub.add_parser("evaluate", help="evaluate a model version on a dataset version (runs a job)")
    e.set_defaults(func=funcs["evaluate"])
    e.add_argument("version_id")
    e.add_argument("--dataset-version", required=True)
    e.add_argument("--split", choices=["train", "val", "test"])
    e.add_argument("--max-images", type=int, default=0)
    e.add_argument("--leave-one-family-out", action="store_true",
                   help="detectors: also train one detector per generator family without it and score that family")
    e.add_argument("--leave-one-out-steps", type=int, default=0,
                   help="training steps of each left-out detector (0: the version's own)")

    z = sub.add_parser("zoo", help="build the detector's generator zoo into a dataset (runs a job)")
    z.set_defaults(func=funcs["zoo"])
    z.add_argument("dataset", help="dataset the fakes go into")
    z.add_argument("--dataset-version", required=True, help="version whose real images are faked (fitted on TRAIN)")
    z.add_argument("--families", help="comma-separated families (default: every registered one)")
    z.add_argument("--fit-steps", type=int, default=0, help="training steps per learnt family (0: server default)")
    z.add_argument("--seed", type=int, default=0)
    z.add_argument("--max-images", type=int, default=0, help="fake at most this many real images (0: all)")
    z.add_argument("--idempotency-key")
    z.add_argument("--no-watch", dest="watch", action="store_false")

    def model_choice(parser):
        parser.add_argument("--model", help="model name (its PRODUCTION version)")
        parser.add_argument("--version", help="a model version id")

    g = sub.add_parser("generate", help="generate images and write PNGs")
    g.set_defaults(func=funcs["generate"])
    model_choice(g)
    g.add_argument("--count", type=int, default=4)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--random-seed", action="store_true")
    g.add_argument("--sampler", choices=["ddim", "ddpm"], default="ddim")
    g.add_argument("--steps", type=int, default=0)
    g.add_argument("--eta", type=float, default=0.0)
    g.add_argument("-o", "--output", required=True, help="folder for the PNGs")
    d = sub.add_parser("detect", help="real or generated? prints verdicts, writes heatmap overlays")
    d.set_defaults(func=funcs["detect"])
    model_choice(d)
    d.add_argument("files", nargs="+")
    d.add_argument("--heatmaps", help="folder for crop-score heatmap overlays")
    c = sub.add_parser("colorize", help="colorize a grayscale photo")
    c.set_defaults(func=funcs["colorize"])
    model_choice(c)
    c.add_argument("input")
    c.add_argument("-o", "--output", required=True)
