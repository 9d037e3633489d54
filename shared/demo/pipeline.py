"""The demo's stages, each through the public gRPC API, ending in an HTML report.

Ingest the bundled NAIP scenes through the XYZ path from a local tile server,
version them with a split that keeps each scene (year) whole, train a DDPM,
generate fakes into the dataset, train and evaluate a detector on held-out
scenes, train a small colorizer, export both served models to Triton, use them
through the services, and write the report.
"""

from __future__ import annotations

import io
import os
import platform
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image

from shared.cli import output
from shared.client import ClientError
from shared.demo.settings import DemoSettings
from shared.demo.tileserver import GROUP_ZOOM, ZOOM, SceneTileServer
from shared.report import DemoReport, write_report
from terrafake.common.v1 import common_pb2
from terrafake.detection.v1 import detection_service_pb2 as det_pb
from terrafake.generation.v1 import generation_service_pb2 as gen_pb
from terrafake.ingestion.v1 import dataset_pb2, ingestion_service_pb2 as ing_pb
from terrafake.jobs.v1 import job_pb2
from terrafake.training.v1 import evaluation_pb2, model_pb2, training_service_pb2 as tr_pb

ATTRIBUTION = [
    "Aerial scenes: USDA Farm Service Agency, National Agriculture Imagery Program (NAIP), public domain; "
    "copied from opengeos/data (MIT).",
    "Photographs: scikit-image sample data (public domain / CC0); scikit-learn sample image china.jpg "
    "(CC BY 2.0, danielbuechele on Flickr).",
]


class DemoError(RuntimeError):
    pass


class Demo:
    def __init__(self, client, settings: DemoSettings, out_dir: Path, *, say=print):
        self.c = client
        self.s = settings
        self.out_dir = out_dir
        self.say = say
        self.tag = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:4]
        self.report = DemoReport(
            title="terrafake demo",
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            machine=f"{os.cpu_count()} CPU cores, {platform.machine()}, {_gpu_name()}",
            settings=settings.as_dict(),
            attribution=ATTRIBUTION,
        )

    # --- plumbing ---------------------------------------------------------------------

    def stage(self, name: str):
        demo = self

        class Timer:
            def __enter__(self):
                demo.say(f"\n== {name}")
                self.t0 = time.monotonic()

            def __exit__(self, exc_type, *exc):
                seconds = time.monotonic() - self.t0
                if exc_type is not None:
                    demo.say(f"   stopped after {seconds:.1f}s")
                    return
                demo.report.stage_seconds.append((name, seconds))
                demo.say(f"   done in {seconds:.1f}s")

        return Timer()

    def follow(self, job, curve: str | None = None) -> job_pb2.Job:
        """Watch a job with a progress bar; keep its loss curve; fail loudly if it fails."""
        bar = output.ProgressBar()
        points, final, interrupted = [], None, False
        try:
            for event in self.c.watch_job(job.id):
                bar.update(event.progress.fraction, output.state_name(event.state),
                           event.progress.message or event.message, event.progress.eta_seconds)  # fmt: skip
                if curve and "loss" in event.metrics and event.progress.step:
                    points.append((int(event.progress.step), float(event.metrics["loss"])))
                if event.HasField("job"):
                    final = event.job
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            bar.close()
            if interrupted:
                self._cancel(job)
        final = final or self.c.get_job(job.id)
        if final.state != job_pb2.JOB_STATE_SUCCEEDED:
            raise DemoError(f"{final.kind} job {final.id} ended {output.state_name(final.state)}: {final.error}")
        if curve:
            self.report.loss_curves[curve] = points
        return final

    def _cancel(self, job) -> None:
        """Cancel a job the user interrupted: left queued or running, the next stack start would resume it."""
        try:
            self.c.cancel_job(job.id, "terrafake demo was interrupted")
        except ClientError as err:  # it finished meanwhile, or the server is gone
            self.say(f"\n   could not cancel {job.kind} job {job.id}: {err}")
        else:
            self.say(f"\n   interrupted: cancelled {job.kind} job {job.id}")

    def version(self, dataset_id: str, spec: dict, label_filter: dict | None = None):
        req = ing_pb.CreateDatasetVersionRequest(dataset_id=dataset_id, split=spec, label_filter=label_filter or {})
        v = self.c.call(self.c.ingestion.CreateDatasetVersion, req).dataset_version
        self.say(f"   version {v.version_number}: {v.image_count} images; train {v.train_count} / val {v.val_count}"
                 f" / test {v.test_count} in {v.group_count} groups")  # fmt: skip
        return v

    def train(self, kind, version_id, architecture, steps, hparams, curve):
        req = tr_pb.StartTrainingRequest(
            model_kind=kind, model_name=f"demo-{curve}-{self.tag}", architecture=architecture,
            dataset_version_id=version_id, max_steps=steps, hyperparameters=hparams,
            checkpoint_interval_steps=max(100, steps // 4), description="terrafake demo",
        )  # fmt: skip
        job = self.follow(self.c.call(self.c.training.StartTraining, req).job, curve)
        return job.result["model_version_id"]

    def evaluate(self, version_id, dataset_version_id, split, **options):
        req = tr_pb.StartEvaluationRequest(model_version_id=version_id, dataset_version_id=dataset_version_id,
                                           split=split, **options)  # fmt: skip
        job = self.follow(self.c.call(self.c.training.StartEvaluation, req).job)
        req = tr_pb.GetEvaluationRequest(evaluation_id=job.result["evaluation_id"])
        return self.c.call(self.c.training.GetEvaluation, req).evaluation

    def images(self, version_id: str, split: int, label: str, limit: int, **labels: str) -> list[Image.Image]:
        req = ing_pb.ListImagesRequest(dataset_version_id=version_id, split=split,
                                       label_filter={"authenticity": label, **labels}, page={"page_size": limit})  # fmt: skip
        infos = self.c.call(self.c.ingestion.ListImages, req).images
        return [Image.open(io.BytesIO(self.c.get_image(i.id)[1])).convert("RGB") for i in infos]

    # --- stages -----------------------------------------------------------------------------

    def run(self) -> Path:
        s = self.s
        split = dict(train_fraction=0.6, val_fraction=0.2, test_fraction=0.2, seed=s.seed,
                     grouping=dataset_pb2.SPLIT_GROUPING_TILE_AREA, group_zoom=GROUP_ZOOM)  # fmt: skip

        with self.stage("ingest real tiles through the XYZ path"):
            ds = self.c.create_dataset(f"demo-aerial-{self.tag}", "NAIP scenes ingested by terrafake demo")
            with SceneTileServer() as tiles:
                w, so, e, n = tiles.bbox()
                job = self.c.ingest(
                    "IngestXyzTiles",
                    options={"dataset_id": ds.id, "tile_size": s.tile_size,
                             "labels": {"authenticity": "real"}, "license": "public domain",
                             "attribution": "USDA FSA NAIP"},
                    url_template=tiles.url_template, bbox=common_pb2.BoundingBox(west=w, south=so, east=e, north=n),
                    zoom=ZOOM,
                )  # fmt: skip
                job = self.follow(job)
            added = int(job.result["images_added"])
            self.say(f"   {added} real {s.tile_size}-px tiles (native scale) from {tiles.tile_count()} map tiles")
            real_version = self.version(ds.id, split, {"authenticity": "real"})

        with self.stage("train the DDPM generator"):
            gen = self.train(model_pb2.MODEL_KIND_GENERATOR, real_version.id, s.generator, s.generator_steps,
                             {"model": {"image_size": s.image_size}, "batch_size": s.generator_batch,
                              "lr": s.generator_lr, "seed": s.seed}, "generator")  # fmt: skip

        with self.stage("generate fakes into the dataset"):
            req = gen_pb.GenerateToDatasetRequest(
                dataset_id=ds.id, model_version_id=gen, count=s.fakes, seed=1_000_000 + s.seed, batch_size=32,
                sampling=gen_pb.SamplingOptions(sampler=gen_pb.SAMPLER_DDIM, steps=s.sampler_steps, eta=s.sampler_eta),
            )  # fmt: skip
            self.follow(self.c.call(self.c.generation.GenerateToDataset, req).job)

        with self.stage("build the generator zoo"):
            req = gen_pb.GenerateZooRequest(dataset_id=ds.id, dataset_version_id=real_version.id,
                                            fit_steps=s.zoo_fit_steps, seed=s.seed, max_images=s.zoo_max_images)
            job = self.follow(self.c.call(self.c.generation.GenerateZoo, req).job)
            self.say(f"   {int(job.result['images_added'])} fakes from every zoo family")
            mixed = self.version(ds.id, split)

        with self.stage("train the detector"):
            jitter = s.detector_color_jitter
            crop = s.detector_crop
            upsample = {"upsample": s.detector_upsample} if s.detector_upsample != 1 else {}
            det = self.train(model_pb2.MODEL_KIND_DETECTOR, mixed.id, s.detector, s.detector_steps,
                             {"model": {"input_size": crop, "crop_stride": crop // 2, **upsample}, "batch_size": s.detector_batch,
                              "seed": s.seed, "color_jitter_brightness": jitter, "color_jitter_contrast": jitter,
                              "color_jitter_saturation": jitter, "resize_augment_prob": s.detector_resize_prob,
                              "blur_augment_prob": s.detector_blur_prob, "blur_sigma_max": 1.0,
                              "jpeg_augment_prob": s.detector_jpeg_prob, "jpeg_quality_min": s.detector_jpeg_quality_min,
                              "calibration_max_type_ii": s.detector_max_type_ii, "lr_schedule": "cosine"},
                             "detector")  # fmt: skip

        with self.stage("evaluate on held-out scenes"):
            lofo = evaluation_pb2.LeaveOneOutOptions(enabled=True, max_steps=s.detector_leave_one_out_steps)
            ev = self.evaluate(det, mixed.id, dataset_pb2.SPLIT_TEST,
                               detector=evaluation_pb2.DetectorEvaluationOptions(leave_one_family_out=lofo))
            self._detector_report(ev)
            options = evaluation_pb2.GeneratorEvaluationOptions(
                num_samples=256, swd_projections=256, sampling={"steps": s.sampler_steps, "eta": s.sampler_eta})
            # Against the years it learnt (as FID is usually measured), then against the held-out years.
            self._generator_report(self.evaluate(gen, real_version.id, dataset_pb2.SPLIT_TRAIN, generator=options),
                                   self.evaluate(gen, real_version.id, dataset_pb2.SPLIT_TEST, generator=options))

        with self.stage("train and evaluate the colorizer"):
            self._colorizer()

        with self.stage("serve through Triton"):
            self._serve(gen, det, mixed.id)

        with self.stage("write the report"):
            self.report.real_samples = self.images(real_version.id, dataset_pb2.SPLIT_TEST, "real", 24)
            self.report.generated_samples = self.images(mixed.id, dataset_pb2.SPLIT_UNSPECIFIED, "generated", 24,
                                                        family="ddpm")  # the generator's own samples, not the zoo's
            path = write_report(self.report, self.out_dir / "report.html")
        return path

    def _detector_report(self, ev) -> None:
        d = ev.detector
        m = d.metrics
        r = self.report
        r.detector_metrics = {
            "accuracy": m.accuracy, "type_i_error_rate": m.type_i_error_rate,
            "type_ii_error_rate": m.type_ii_error_rate, "precision": m.precision, "recall": m.recall,
            "f1": m.f1, "roc_auc": m.roc_auc, "uncertain_fraction": m.uncertain_fraction,
            "threshold": d.threshold, "num_real": d.num_real, "num_generated": d.num_generated,
        }  # fmt: skip
        r.roc_curve = [(p.false_positive_rate, p.true_positive_rate) for p in d.roc_curve]
        r.roc_auc = m.roc_auc
        c = m.confusion
        r.confusion = {"true_positives": c.true_positives, "false_positives": c.false_positives,
                       "true_negatives": c.true_negatives, "false_negatives": c.false_negatives,
                       "uncertain_real": c.uncertain_real, "uncertain_generated": c.uncertain_generated}  # fmt: skip
        r.detector_metrics["expected_calibration_error"] = d.expected_calibration_error
        r.targets += [
            ("detector accuracy", m.accuracy, "≥", 0.97, m.accuracy >= 0.97),
            ("type I error (real called generated)", m.type_i_error_rate, "≤", 0.04, m.type_i_error_rate <= 0.04),
            ("type II error (generated called real)", m.type_ii_error_rate, "≤", 0.02, m.type_ii_error_rate <= 0.02),
            ("expected calibration error", d.expected_calibration_error, "≤", 0.05, d.expected_calibration_error <= 0.05),
            ("uncertain fraction", m.uncertain_fraction, "≤", 0.10, m.uncertain_fraction <= 0.10),
        ]
        r.robustness = [
            {"perturbation": evaluation_pb2.Perturbation.Name(x.perturbation).removeprefix("PERTURBATION_"),
             "parameter": x.parameter, "accuracy": x.metrics.accuracy, "roc_auc": x.metrics.roc_auc}
            for x in d.robustness
        ]  # fmt: skip
        for x in r.robustness:
            key = (x["perturbation"], x["parameter"])
            if key in (("JPEG", 75.0), ("RESIZE", 0.5)):
                name = "JPEG q75" if key[0] == "JPEG" else "resize x0.5"
                r.targets += [(f"{name} accuracy", x["accuracy"], "≥", 0.90, x["accuracy"] >= 0.90),
                              (f"{name} ROC-AUC", x["roc_auc"], "≥", 0.95, x["roc_auc"] >= 0.95)]  # fmt: skip
        r.per_family = [
            {"family": f.family, "generated": f.num_generated, "roc_auc": f.metrics.roc_auc,
             "type_ii_error_rate": f.metrics.type_ii_error_rate, "uncertain_fraction": f.metrics.uncertain_fraction}
            for f in d.per_family
        ]  # fmt: skip
        r.reliability = [(b.mean_p, b.fraction_generated, b.count) for b in d.reliability]
        r.leave_one_out = [
            {"family": x.family, "generated": x.num_generated, "roc_auc": x.metrics.roc_auc, "accuracy": x.metrics.accuracy,
             "type_i_error_rate": x.metrics.type_i_error_rate, "type_ii_error_rate": x.metrics.type_ii_error_rate,
             "jpeg_q75_roc_auc": x.jpeg_q75_roc_auc, "train_steps": x.train_steps}
            for x in d.leave_one_family_out
        ]  # fmt: skip
        if r.leave_one_out:  # the evaluation job's own summary of the rows
            low, mean = ev.metrics["leave_one_out_min_roc_auc"], ev.metrics["leave_one_out_mean_roc_auc"]
            r.targets += [("leave-one-family-out ROC-AUC, lowest family", low, "≥", 0.90, low >= 0.90),
                          ("leave-one-family-out ROC-AUC, mean", mean, "≥", 0.95, mean >= 0.95)]  # fmt: skip
        self.say(f"   detector on held-out scenes: accuracy {m.accuracy:.3f}, type I {m.type_i_error_rate:.3f}, "
                 f"type II {m.type_ii_error_rate:.3f}, ROC-AUC {m.roc_auc:.3f}, ECE {d.expected_calibration_error:.3f}, "
                 f"uncertain {m.uncertain_fraction:.3f}")  # fmt: skip
        for f in d.per_family:
            self.say(f"     {f.family}: {f.num_generated} fakes, ROC-AUC {f.metrics.roc_auc:.3f}, "
                     f"type II {f.metrics.type_ii_error_rate:.3f}")  # fmt: skip
        for x in d.leave_one_family_out:
            self.say(f"     trained without {x.family}: ROC-AUC {x.metrics.roc_auc:.3f} on it "
                     f"(JPEG q75 {x.jpeg_q75_roc_auc:.3f}), accuracy {x.metrics.accuracy:.3f}")  # fmt: skip

    def _generator_report(self, own, held_out) -> None:
        """Targets on `own` (the training split: what the generator learnt); `held_out` is reported beside it."""
        g, h = own.generator, held_out.generator
        metrics, held = dict(own.metrics), dict(held_out.metrics)
        self.report.generator_metrics = {
            "swd": g.swd, "swd_real_floor": g.swd_real_floor, "swd_ratio": g.swd_ratio,
            **{k: v for k, v in metrics.items() if k.startswith("baseline_")},
            "held_out_swd": h.swd, "held_out_swd_real_floor": h.swd_real_floor,
            **({"held_out_swd_training_data": h.swd_training_data} if h.num_training else {}),
            **{f"held_out_{k}": v for k, v in held.items() if "baseline_" in k},
        }  # fmt: skip
        for name in ("blurred", "shuffled_patches"):
            base = metrics.get(f"baseline_{name}_swd")
            if base:
                label = f"generator SWD vs {name.replace('_', ' ')} baseline (training years)"
                self.report.targets.append((label, g.swd, "<", 0.8 * base, g.swd < 0.8 * base))
        self.say(f"   generator SWD against its training years {g.swd:.4f} (floor {g.swd_real_floor:.4f}, "
                 f"blurred {metrics.get('baseline_blurred_swd', 0):.4f}, "
                 f"shuffled {metrics.get('baseline_shuffled_patches_swd', 0):.4f})")  # fmt: skip
        line = f", its training tiles {h.swd_training_data:.4f}" if h.num_training else ""
        self.say(f"   generator SWD against the held-out years {h.swd:.4f} (floor {h.swd_real_floor:.4f}{line})")

    def _colorizer(self) -> None:
        from shared.assets import PHOTOS

        s = self.s
        ds = self.c.create_dataset(f"demo-photos-{self.tag}", "sample photographs for colorization")
        photos = sorted(p for p in PHOTOS.iterdir() if p.suffix in (".png", ".jpg"))
        files = [(p.name, p.read_bytes()) for p in photos]
        job = self.c.upload(files, {"dataset_id": ds.id, "tile_size": 2 * s.colorizer_size,
                                    "resize_to": s.colorizer_size}).job  # fmt: skip
        self.follow(job)
        spec = dict(train_fraction=0.67, val_fraction=0.0, test_fraction=0.33, seed=s.seed,
                    grouping=dataset_pb2.SPLIT_GROUPING_PHOTO)  # fmt: skip
        version = self.version(ds.id, spec)
        col = self.train(model_pb2.MODEL_KIND_COLORIZER, version.id, "colorizer-unet", s.colorizer_steps,
                         {"model": {"image_size": s.colorizer_size, "base_channels": s.colorizer_width},
                          "batch_size": s.colorizer_batch, "seed": s.seed}, "colorizer")  # fmt: skip
        ev = self.evaluate(col, version.id, dataset_pb2.SPLIT_TEST)
        cr = ev.colorizer
        self.report.colorizer_metrics = {"psnr_db": cr.psnr_db, "ssim": cr.ssim,
                                         "baseline_psnr_db": cr.baseline_psnr_db, "baseline_ssim": cr.baseline_ssim}
        self.say(f"   colorizer PSNR {cr.psnr_db:.2f} dB (grayscale baseline {cr.baseline_psnr_db:.2f} dB)")
        for photo in photos[:3]:
            original = Image.open(photo).convert("RGB")
            original.thumbnail((256, 256))
            gray = original.convert("L")
            self.report.colorization.append((gray, self._colorize(col, gray), original))

    def _colorize(self, version_id: str, gray: Image.Image) -> Image.Image:
        buf = io.BytesIO()
        gray.save(buf, "PNG")
        data = buf.getvalue()

        def messages():
            yield gen_pb.ColorizeRequest(header=gen_pb.ColorizeHeader(
                image=common_pb2.ImageHeader(size_bytes=len(data)), model_version_id=version_id))  # fmt: skip
            yield gen_pb.ColorizeRequest(chunk=common_pb2.ImageChunk(data=data))

        parts = list(self.c.generation.Colorize(messages(), metadata=self.c.metadata, timeout=300))
        return Image.open(io.BytesIO(b"".join(p.chunk.data for p in parts[1:]))).convert("RGB")

    def _serve(self, gen: str, det: str, mixed_version: str) -> None:
        served = []
        for version_id in (gen, det):
            job = self.follow(self.c.call(self.c.training.ExportModel,
                                          tr_pb.ExportModelRequest(model_version_id=version_id)).job)  # fmt: skip
            self.c.call(self.c.training.PromoteModel, tr_pb.PromoteModelRequest(
                model_version_id=version_id, stage=model_pb2.MODEL_STAGE_PRODUCTION))  # fmt: skip
            served.append({"name": job.result["triton_model"], "version": int(job.result["triton_version"]),
                           "parity_max_abs_diff": job.result["parity_max_abs_diff"], "ready": True})  # fmt: skip
        t0 = time.monotonic()
        s = self.s
        sampling = gen_pb.SamplingOptions(sampler=gen_pb.SAMPLER_DDIM, steps=s.sampler_steps, eta=s.sampler_eta)
        req = gen_pb.GenerateRequest(model_version_id=gen, count=8, seed=42, sampling=sampling)
        generated = [m for m in self.c.generation.Generate(req, metadata=self.c.metadata, timeout=300)
                     if m.HasField("header")]  # fmt: skip
        gen_seconds = time.monotonic() - t0
        self.report.serving = {
            "backend": "triton",
            "models": served,
            "parity_max_abs_diff": max(m["parity_max_abs_diff"] for m in served),
            "generate_8_images_seconds": round(gen_seconds, 3),
        }
        for label, target in (("real", self.report.gradcam_real), ("generated", self.report.gradcam_generated)):
            for image in self.images(mixed_version, dataset_pb2.SPLIT_TEST, label, 4):
                target.append(self._heatmap_row(det, image))
        for image in self._scenes():
            self.report.scene_heatmaps.append(self._heatmap_row(det, image))
        self.say(f"   {len(generated)} images generated through Triton in {gen_seconds:.2f}s; "
                 f"{len(self.report.gradcam_real) + len(self.report.gradcam_generated)} tiles detected with heatmaps")

    def _heatmap_row(self, version_id: str, image: Image.Image):
        from shared.models import overlay_heatmap

        verdict = self._detect(version_id, image)
        heat = np.asarray(Image.open(io.BytesIO(verdict.heatmap.png)), dtype=np.float32) / 255.0
        return image, overlay_heatmap(image, heat), verdict.p_generated

    def _scenes(self) -> list[Image.Image]:
        """A whole NAIP scene as it is (934x723; parts of it may be among the training tiles), and the same
        scene shrunk by half and brought back (the zoo's interpolation family, made here without a model)."""
        from shared.assets import naip_scenes

        scene = Image.open(naip_scenes()[-1 - self.s.seed % 10]).convert("RGB")
        half = scene.resize((scene.width // 2, scene.height // 2), Image.Resampling.BICUBIC)
        return [scene, half.resize(scene.size, Image.Resampling.BICUBIC)]

    def _detect(self, version_id: str, image: Image.Image):
        buf = io.BytesIO()
        image.save(buf, "PNG")
        data = buf.getvalue()
        req = [
            det_pb.DetectRequest(header=det_pb.DetectHeader(
                image=common_pb2.ImageHeader(size_bytes=len(data)),
                options=det_pb.DetectOptions(model_version_id=version_id, want_heatmap=True))),
            det_pb.DetectRequest(chunk=common_pb2.ImageChunk(data=data)),
        ]  # fmt: skip
        return self.c.detection.Detect(iter(req), metadata=self.c.metadata, timeout=120).verdict


def _gpu_name() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return f"GPU {torch.cuda.get_device_name(0)}"
    except Exception:
        pass
    return "no GPU"
