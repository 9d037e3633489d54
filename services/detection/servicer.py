"""DetectionService servicer.

An image is judged at its own pixel scale, never resized: the detector's crop
policy (part of the model version, shared.models.detector.crops) cuts
overlapping windows of its input size, the backend scores them (the crops of
every image in a batch share forward passes), their logits are aggregated and
calibrated into p_generated, and the heatmap is the map of crop scores over
the whole image. An image smaller than one crop is INVALID_ARGUMENT naming
the minimum size. Every Detect and DetectStream verdict goes to the inference
log (shared.monitoring) off the request path; the drift RPCs live in drift.py.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import NamedTuple

import grpc

from services.context import ServiceContext
from services.evaluations import leave_one_out, submit_evaluation
from services.convert import job as job_message
from services.interceptors import STATUS_CODES
from services.metrics import observe_detection
from services.images import ImageBuffer, decode_rgb
from shared.errors import FailedPrecondition, InvalidArgument, TerrafakeError
from shared.inference import check_image, heatmap_png, judge_images
from shared.monitoring.inference_log import InputStats
from shared.registry.store import RegistryStore
from terrafake.detection.v1 import detection_service_pb2 as pb, detection_service_pb2_grpc

MAX_BATCH = 64
# Within one DetectStream a model name is looked up again after this long: a long stream
# picks up a promotion, and a busy one does not query Postgres for every micro-batch.
VERSION_REFRESH_SECONDS = 1.0


class Decoded(NamedTuple):
    """A DetectStream image ready to judge, with what the inference log keeps about its input (None: logging off)."""

    image: object
    stats: InputStats | None


class DetectionServicer(detection_service_pb2_grpc.DetectionServiceServicer):
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx
        self.registry = RegistryStore(ctx.db)

    def _version(self, options: pb.DetectOptions) -> dict:
        if options.model_version_id or options.model_name:
            return self.registry.resolve(options.model_version_id, options.model_name, "DETECTOR")
        return self._default_detector()

    def _default_detector(self) -> dict:
        """"detector" in production, else the newest production detector (the demo's, after `make demo`)."""
        try:
            return self.registry.resolve("", "detector", "DETECTOR")
        except FailedPrecondition:
            newest = self.registry.newest_production("DETECTOR")
            if newest is None:
                raise FailedPrecondition(
                    "no detector is in production: promote one with PromoteModel, or name a model or version"
                ) from None
            return newest

    def _input_stats(self, data: bytes, image, started: float) -> InputStats | None:
        """Hash and measure an image for the inference log, or None when it is off (then nothing is computed)."""
        writer = self.ctx.inference_log
        return InputStats.of(data, image, started) if writer is not None and writer.enabled else None

    def _verdicts(self, version: dict, images: list, want_heatmap: list[bool], logged=None) -> list[pb.Verdict]:
        """`logged`: per image, (method, InputStats or None) for the inference log; None logs nothing (the quiz)."""
        judgements = judge_images(self.ctx.inference, version, images, want_heatmap)
        out = []
        for index, (image, j) in enumerate(zip(images, judgements)):
            observe_detection(str(version["id"]), j.p_generated, j.label)
            if logged is not None and logged[index][1] is not None:
                self.ctx.inference_log.record(str(version["id"]), logged[index][0], j, image, logged[index][1])
            v = pb.Verdict(
                p_generated=j.p_generated, label=pb.DetectionLabel.Value(f"DETECTION_LABEL_{j.label}"),
                threshold=j.threshold, uncertain_lower=j.uncertain_lower, uncertain_upper=j.uncertain_upper,
                model_version_id=str(version["id"]), image_width=image.width, image_height=image.height,
            )  # fmt: skip
            if j.heatmap is not None:
                h = j.heatmap
                v.heatmap.CopyFrom(pb.Heatmap(png=heatmap_png(h), width=h.shape[1], height=h.shape[0]))
            out.append(v)
        return out

    def Detect(self, request_iterator, context):
        first = next(request_iterator, None)
        if first is None or first.WhichOneof("payload") != "header":
            raise InvalidArgument("the first message of Detect must be its header")
        header = first.header
        buf = ImageBuffer(max(header.image.size_bytes, len(header.data)), self.ctx.settings.ingest.max_image_bytes)
        if header.data:
            buf.add(header.data)
        for msg in request_iterator:
            if msg.WhichOneof("payload") != "chunk":
                raise InvalidArgument("Detect takes one header, then chunks")
            if header.data:
                raise InvalidArgument("Detect takes its image in the header's data or in chunks, not both")
            buf.add(msg.chunk.data)
        data = buf.bytes()
        started = time.perf_counter()  # the image is complete: its logged latency runs from here
        image = decode_rgb(data, self.ctx.settings)
        version = self._version(header.options)
        logged = [("Detect", self._input_stats(data, image, started))]
        return pb.DetectResponse(verdict=self._verdicts(version, [image], [header.options.want_heatmap], logged)[0])

    def DetectStream(self, request_iterator, context):
        """Reads items on a thread; answers in batches of whatever is complete, so many images share a pass."""
        items: queue.Queue = queue.Queue(maxsize=256)
        done = object()
        limit = self.ctx.settings.ingest.max_image_bytes

        def finish(item_id: str, options, buf: ImageBuffer) -> None:
            # Decoded here, while the answering loop runs the model on earlier items:
            # PIL's decoders release the GIL, so the two overlap.
            started = time.perf_counter()
            try:
                data = buf.bytes()
                image = decode_rgb(data, self.ctx.settings)
            except TerrafakeError as exc:
                items.put((item_id, None, None, exc))
            else:
                items.put((item_id, options, Decoded(image, self._input_stats(data, image, started)), None))

        def reader():
            current = None  # (item_id, options, buffer) of the open item; buffer None once it failed
            try:
                for msg in request_iterator:
                    kind = msg.WhichOneof("payload")
                    if kind == "header":
                        if current is not None:
                            items.put((current[0], None, None, InvalidArgument("a header arrived before EndOfImage")))
                        header, current = msg.header, None
                        inline = bool(header.data)  # the whole image in this message: nothing follows for it
                        try:
                            buf = ImageBuffer(max(header.image.size_bytes, len(header.data)), limit)
                            if inline:
                                buf.add(header.data)
                        except TerrafakeError as exc:
                            items.put((header.item_id, None, None, exc))
                            if not inline:
                                current = (header.item_id, None, None)  # its chunks and EndOfImage are skipped
                            continue
                        if inline:
                            finish(header.item_id, header.options, buf)
                        else:
                            current = (header.item_id, header.options, buf)
                    elif kind == "chunk":
                        if current is None:
                            items.put(("", None, None, InvalidArgument("a chunk arrived outside an open image")))
                        elif current[2] is not None:
                            try:
                                current[2].add(msg.chunk.data)
                            except TerrafakeError as exc:
                                items.put((current[0], None, None, exc))
                                current = (current[0], None, None)
                    elif kind == "end":
                        if current is None or msg.end.item_id != current[0]:
                            items.put((msg.end.item_id, None, None, InvalidArgument("EndOfImage without its header")))
                        elif current[2] is not None:
                            finish(*current)
                        current = None
            except Exception as exc:  # the client went away
                items.put(("", None, None, exc))
            finally:
                items.put(done)

        threading.Thread(target=reader, name="detect-stream-reader", daemon=True).start()
        versions: dict[tuple[str, str], tuple[float, dict]] = {}  # (resolved at, version) by model key
        finished = False
        while not finished and context.is_active():
            batch = [items.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(items.get_nowait())
                except queue.Empty:
                    break
            if batch[-1] is done or done in batch:
                finished = True
                batch = [b for b in batch if b is not done]
            yield from self._answer(batch, versions)

    def _answer(self, batch, versions: dict):
        groups: dict[str, list] = {}
        for item_id, options, decoded, error in batch:
            if error is not None:
                yield self._error(item_id, error)
                continue
            try:
                key = (options.model_version_id, options.model_name)
                resolved_at, version = versions.get(key, (float("-inf"), None))
                if time.monotonic() - resolved_at > VERSION_REFRESH_SECONDS:
                    version = self._version(options)
                    versions[key] = (time.monotonic(), version)
                check_image(version, decoded.image)  # one image too small fails alone, not its whole batch
            except TerrafakeError as exc:
                yield self._error(item_id, exc)
                continue
            groups.setdefault(str(version["id"]), []).append((item_id, options, decoded, version))
        for members in groups.values():
            version = members[0][3]
            try:
                verdicts = self._verdicts(version, [m[2].image for m in members], [m[1].want_heatmap for m in members],
                                          [("DetectStream", m[2].stats) for m in members])  # fmt: skip
            except TerrafakeError as exc:
                for m in members:
                    yield self._error(m[0], exc)
                continue
            for m, verdict in zip(members, verdicts):
                yield pb.DetectStreamResponse(item_id=m[0], verdict=verdict)

    @staticmethod
    def _error(item_id: str, exc: Exception) -> pb.DetectStreamResponse:
        if isinstance(exc, TerrafakeError):
            code = STATUS_CODES.get(exc.code, grpc.StatusCode.INTERNAL)
            message = exc.message
        else:
            code, message = grpc.StatusCode.INTERNAL, "internal error"
        return pb.DetectStreamResponse(item_id=item_id, error=pb.ItemError(code=code.value[0], message=message))

    def EvaluateDetector(self, request, context):
        version = self._version(pb.DetectOptions(model_version_id=request.model_version_id,
                                                 model_name=request.model_name))  # fmt: skip
        robustness = {
            "jpeg_qualities": list(request.robustness.jpeg_qualities),
            "resize_factors": list(request.robustness.resize_factors),
            "blur_sigmas": list(request.robustness.blur_sigmas),
        }
        for q in robustness["jpeg_qualities"]:
            if not 1 <= q <= 100:
                raise InvalidArgument("jpeg_qualities must be between 1 and 100")
        for f in robustness["resize_factors"]:
            if not 0 < f <= 4:
                raise InvalidArgument("resize_factors must be in (0, 4]")
        for sigma in robustness["blur_sigmas"]:
            if not 0 < sigma <= 10:
                raise InvalidArgument("blur_sigmas must be in (0, 10] pixels")
        lofo = leave_one_out(version, request.leave_one_family_out)
        job = submit_evaluation(self.ctx, version, request, {"robustness": robustness, "leave_one_family_out": lofo},
                                "auto")  # fmt: skip
        return pb.EvaluateDetectorResponse(job=job_message(job))

    # --- drift ----------------------------------------------------------------------------------

    def CheckDrift(self, request, context):
        from services.detection.drift import check_drift

        return pb.CheckDriftResponse(job=job_message(check_drift(self.ctx, self.registry, request)))

    def GetDriftFinding(self, request, context):
        from services.detection.drift import finding_message
        from shared.monitoring.store import DriftStore

        row = DriftStore(self.ctx.db).get_finding(request.finding_id)
        return pb.GetDriftFindingResponse(finding=finding_message(row))

    def ListDriftFindings(self, request, context):
        from services.detection.drift import finding_message
        from shared.monitoring.store import DriftStore

        rows, token, total = DriftStore(self.ctx.db).list_findings(
            model_version_id=request.model_version_id, model_name=request.model_name,
            page_size=self.ctx.page_size(request.page.page_size), page_token=request.page.page_token,
        )  # fmt: skip
        return pb.ListDriftFindingsResponse(findings=[finding_message(r) for r in rows],
                                            page={"next_page_token": token, "total_size": total})  # fmt: skip

    # --- the quiz -------------------------------------------------------------------------------

    def _quiz(self):
        from shared.quiz import QuizStore

        if not hasattr(self, "_quiz_store"):
            self._quiz_store = QuizStore(self.ctx.db)
        return self._quiz_store

    def StartQuizRound(self, request, context):
        import io
        import re
        import uuid

        from PIL import Image

        from shared.imaging.encode import encode_png

        if not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", request.player):
            raise InvalidArgument("player must be 8..64 characters of letters, digits, '_' and '-'")
        if len(request.nickname) > 32 or not request.nickname.isprintable():
            raise InvalidArgument("nickname must be at most 32 printable characters")
        try:
            version_id = str(uuid.UUID(request.dataset_version_id))
        except ValueError:
            raise InvalidArgument(f"dataset_version_id must be a UUID, got {request.dataset_version_id!r}") from None
        drawn = self._quiz().draw(version_id, request.player, request.nickname.strip())
        with Image.open(io.BytesIO(self.ctx.blobs.get(drawn.image_id))) as stored:
            tile = stored.convert("RGB")  # re-encoded: no metadata, no file-size or format tell
        try:  # the production detector's opinion, kept for the summary (the quiz works without one)
            version = self._quiz_detector(request.detector_model)
            if version is None:
                raise FailedPrecondition("no detector in production")
            [verdict] = self._verdicts(version, [tile], [False])
            label = pb.DetectionLabel.Name(verdict.label).removeprefix("DETECTION_LABEL_")
            self._quiz().record_detector(drawn.token, verdict.p_generated, label)
        except TerrafakeError:
            pass
        return pb.StartQuizRoundResponse(round_token=drawn.token, png=encode_png(tile), width=tile.width,
                                         height=tile.height)  # fmt: skip

    def _quiz_detector(self, name: str) -> dict | None:
        if name:
            return self.registry.resolve("", name, "DETECTOR")
        try:
            return self._default_detector()
        except FailedPrecondition:
            return None

    def AnswerQuizRound(self, request, context):
        if not request.round_token:
            raise InvalidArgument("round_token is required")
        if request.answer == pb.QUIZ_ANSWER_UNSPECIFIED:
            raise InvalidArgument("answer must be QUIZ_ANSWER_REAL or QUIZ_ANSWER_GENERATED")
        answer = pb.QuizAnswer.Name(request.answer).removeprefix("QUIZ_ANSWER_")
        row = self._quiz().answer(request.round_token, request.player, answer)
        return pb.AnswerQuizRoundResponse(
            correct=row["answer"] == row["truth"], truth=pb.QuizAnswer.Value(f"QUIZ_ANSWER_{row['truth']}"),
            generator=row["generator"], detector_p_generated=row["detector_p"] or 0.0,
            detector_label=row["detector_label"] or "", score=pb.QuizScore(**self._quiz().score(request.player)),
        )  # fmt: skip

    def GetQuizSummary(self, request, context):
        return pb.GetQuizSummaryResponse(score=pb.QuizScore(**self._quiz().score(request.player)))

    def GetQuizLeaderboard(self, request, context):
        limit, min_rounds = request.limit or 10, request.min_rounds or 5
        if not 1 <= limit <= 100 or min_rounds < 1:
            raise InvalidArgument("limit must be 1..100 and min_rounds at least 1")
        rows = self._quiz().leaderboard(limit, min_rounds)
        return pb.GetQuizLeaderboardResponse(entries=[pb.QuizLeaderboardEntry(**r) for r in rows])

    def GetQuizStats(self, request, context):
        return pb.GetQuizStatsResponse(generators=[pb.QuizGeneratorStats(**r) for r in self._quiz().stats(request.generator)])
