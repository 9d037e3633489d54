"""The web console: server-rendered pages over the platform's gRPC API.

A FastAPI app with Jinja2 templates and a little plain JavaScript (served
from /static: no CDN, no build step). It has no database of its own: every
page is made from gRPC calls carrying the signed-in user's token, so the
services check roles exactly as they do for the CLI. See `sessions` for how
the token is kept and `security` for CSRF, the CSP and rate limits.
"""

from __future__ import annotations

import base64
import inspect
import io
import json
import secrets
from pathlib import Path
from typing import Iterator

import grpc
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from google.protobuf.json_format import MessageToDict
from grpc_health.v1 import health_pb2, health_pb2_grpc
from PIL import Image

from services.web.requestid import RequestId
from services.web.security import RateLimiter, SecurityHeaders, ThumbnailCache
from services.web.sessions import COOKIE, Session, SessionStore
from shared.client import Client, ClientError
from shared.imaging import sniff_format
from shared.structs import struct_dict
from terrafake.detection.v1 import detection_service_pb2 as det_types
from terrafake.ingestion.v1 import dataset_pb2, ingestion_service_pb2 as ing_pb
from terrafake.jobs.v1 import job_pb2, jobs_service_pb2 as jobs_pb
from terrafake.training.v1 import evaluation_pb2 as ev_pb, model_pb2, training_service_pb2 as tr_pb

HERE = Path(__file__).resolve().parent
PAGE = 500  # rows per list page
GRID = 120  # thumbnails per dataset page
THUMB_PX = 128
# How long a page waits for a gRPC server that went away before it shows the 503 page: a person is
# waiting on the page, and a restarting server is back within a few seconds (bench.recovery).
RETRY_SECONDS = 3.0

_STATUS = {  # gRPC status -> HTTP status for error pages
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 413,
    grpc.StatusCode.UNAVAILABLE: 503,
}


def create_app(grpc_address: str, *, secure_cookies: bool = False, max_upload_bytes: int = 32 * 1024 * 1024,
               channel: grpc.Channel | None = None, quiz_token: str | None = None, quiz_dataset: str = "",
               quiz_rounds: int = 5, quiz_rate_per_s: float = 2.0) -> FastAPI:  # fmt: skip
    """The console for the platform at `grpc_address`. `secure_cookies`: behind TLS (cookies get Secure).

    The quiz is public: the console plays it for anonymous visitors with `quiz_token` (a read token)
    on `quiz_dataset` (a dataset name, NAME@N for one version; empty: the newest demo-aerial-* dataset),
    `quiz_rounds` rounds a game."""
    app = FastAPI(title="terrafake console", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestId)  # added last: outermost, so everything inside logs with the id
    channel = channel or grpc.insecure_channel(
        grpc_address, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)]
    )
    sessions = SessionStore()
    thumbs = ThumbnailCache()
    upload_limiter = RateLimiter(rate_per_s=1.0, burst=20)
    quiz_limiter = RateLimiter(rate_per_s=quiz_rate_per_s, burst=max(1, int(15 * quiz_rate_per_s)))
    quiz_version = _Cached(ttl_s=60.0)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["job_state"] = lambda s: job_pb2.JobState.Name(s).removeprefix("JOB_STATE_").lower()
    templates.env.filters["stage"] = lambda s: model_pb2.ModelStage.Name(s).removeprefix("MODEL_STAGE_").lower()
    templates.env.filters["kind"] = lambda s: model_pb2.ModelKind.Name(s).removeprefix("MODEL_KIND_").lower()
    templates.env.filters["pct"] = lambda f: f"{100 * f:.0f}%"
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.sessions = sessions

    # --- plumbing -------------------------------------------------------------------------

    def session_of(request: Request) -> tuple[Session, bool]:
        found = sessions.get(request.cookies.get(COOKIE))
        return (found, False) if found else (sessions.new(), True)

    def with_cookie(response: Response, session: Session) -> Response:
        response.set_cookie(COOKIE, session.id, httponly=True, samesite="lax", secure=secure_cookies, path="/")
        return response

    def page(request: Request, session: Session, fresh: bool, template: str, status: int = 200, **context):
        context.update(session=session, csrf=session.csrf, nav=template.split(".")[0])
        response = templates.TemplateResponse(request, template, context, status_code=status)
        return with_cookie(response, session) if fresh else response

    def error_page(request, session, fresh, err: ClientError):
        if err.code == grpc.StatusCode.UNAUTHENTICATED:
            return with_cookie(RedirectResponse("/signin", status_code=303), session)
        status = _STATUS.get(err.code, 502)
        return page(request, session, fresh, "error.html", status=status, code=err.code.name, message=err.message)

    def client_for(session: Session) -> Client:
        return Client(channel, session.token, retries=1, retry_seconds=RETRY_SECONDS)

    async def form_with_csrf(request: Request, session: Session, **limits):
        form = await request.form(**limits)
        if not session.csrf_ok(form.get("csrf")):
            return None
        return form

    def refused_csrf(request, session, fresh):
        return page(request, session, fresh, "error.html", status=403, code="CSRF",
                    message="This form is out of date or did not come from this console; reload the page and try again.")  # fmt: skip

    def signed_in(handler):
        """Pages that need a token: anonymous visitors go to the sign-in page."""

        async def wrapped(request: Request):
            session, fresh = session_of(request)
            if not session.signed_in:
                return with_cookie(RedirectResponse(f"/signin?next={request.url.path}", status_code=303), session)
            try:
                if inspect.iscoroutinefunction(handler):
                    return await handler(request, session, fresh, client_for(session), **request.path_params)
                # gRPC calls block: plain handlers run in the thread pool, off the event loop.
                return await run_in_threadpool(handler, request, session, fresh, client_for(session),
                                               **request.path_params)  # fmt: skip
            except ClientError as err:
                return error_page(request, session, fresh, err)

        wrapped.__name__ = handler.__name__
        return wrapped

    # --- health, sign-in --------------------------------------------------------------------

    @app.get("/healthz")
    def healthz():
        try:
            status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2).status
            serving = status == health_pb2.HealthCheckResponse.SERVING
        except grpc.RpcError:
            serving = False
        return JSONResponse({"status": "ok" if serving else "degraded", "grpc": grpc_address, "grpc_serving": serving},
                            status_code=200 if serving else 503)  # fmt: skip

    @app.get("/")
    def index(request: Request):
        session, fresh = session_of(request)
        response = RedirectResponse("/datasets" if session.signed_in else "/signin", status_code=303)
        return with_cookie(response, session) if fresh else response

    @app.get("/signin", response_class=HTMLResponse)
    def signin_form(request: Request, next: str = "/datasets"):
        session, fresh = session_of(request)
        return page(request, session, fresh, "signin.html", next=_local(next))

    @app.post("/signin")
    async def signin(request: Request):
        session, fresh = session_of(request)
        form = await form_with_csrf(request, session)
        if form is None:
            return refused_csrf(request, session, fresh)
        token = str(form.get("token", "")).strip()
        try:
            checker = Client(channel, token or "-", retries=1, retry_seconds=RETRY_SECONDS)
            caller = await run_in_threadpool(checker.call, checker.jobs.GetCaller, jobs_pb.GetCallerRequest())
        except ClientError as err:
            message = "That token was not accepted." if err.code == grpc.StatusCode.UNAUTHENTICATED else err.message
            # A platform that is down is not a bad token: 503, with the server's words.
            status = 503 if err.code == grpc.StatusCode.UNAVAILABLE else 401
            return page(request, session, fresh, "signin.html", status=status, error=message, next=_local(form.get("next")))
        fresh_session = sessions.sign_in(session, token, caller.name, caller.role)
        return with_cookie(RedirectResponse(_local(form.get("next")), status_code=303), fresh_session)

    @app.post("/signout")
    async def signout(request: Request):
        session, fresh = session_of(request)
        if await form_with_csrf(request, session) is None:
            return refused_csrf(request, session, fresh)
        sessions.drop(session)
        return RedirectResponse("/signin", status_code=303)

    # --- datasets --------------------------------------------------------------------------

    @app.get("/datasets", response_class=HTMLResponse)
    @signed_in
    def datasets(request, session, fresh, client):
        token = request.query_params.get("page", "")
        resp = client.call(client.ingestion.ListDatasets, ing_pb.ListDatasetsRequest(
            name_contains=request.query_params.get("q", ""), page={"page_size": PAGE, "page_token": token}))  # fmt: skip
        return page(request, session, fresh, "datasets.html", datasets=resp.datasets,
                    next_page=resp.page.next_page_token, q=request.query_params.get("q", ""))  # fmt: skip

    @app.get("/datasets/{dataset_id}", response_class=HTMLResponse)
    @signed_in
    def dataset(request, session, fresh, client, dataset_id: str):
        q = request.query_params
        ds = client.call(client.ingestion.GetDataset, ing_pb.GetDatasetRequest(dataset_id=dataset_id)).dataset
        versions = client.call(client.ingestion.ListDatasetVersions, ing_pb.ListDatasetVersionsRequest(
            dataset_id=dataset_id, page={"page_size": 100})).dataset_versions  # fmt: skip
        version_id, split, label = q.get("version", ""), q.get("split", ""), q.get("label", "")
        key, _, value = label.partition("=")
        request_fields = dict(dataset_id="" if version_id else dataset_id, dataset_version_id=version_id,
                              label_filter={key: value} if key else {},
                              page={"page_size": GRID, "page_token": q.get("page", "")})  # fmt: skip
        if split:
            request_fields["split"] = dataset_pb2.Split.Value(f"SPLIT_{split.upper()}")
        images = client.call(client.ingestion.ListImages, ing_pb.ListImagesRequest(**request_fields))
        return page(request, session, fresh, "dataset.html", dataset=ds, versions=versions, images=images.images,
                    next_page=images.page.next_page_token, version_id=version_id, split=split, label=label)  # fmt: skip

    @app.get("/images/{image_id}", response_class=HTMLResponse)
    @signed_in
    def image_page(request, session, fresh, client, image_id: str):
        info, _ = client.get_image(image_id)
        footprint = MessageToDict(info.footprint) if info.HasField("footprint") else None
        return page(request, session, fresh, "image.html", image=info, footprint=footprint)

    @app.get("/images/{image_id}/thumb")
    @signed_in
    def thumbnail(request, session, fresh, client, image_id: str):
        etag = f'"{image_id}-{THUMB_PX}"'  # image ids are content hashes: the bytes behind one never change
        headers = {"ETag": etag, "Cache-Control": "private, max-age=86400"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        png = thumbs.get(image_id)
        if png is None:
            _, data = client.get_image(image_id)
            png = thumbs.put(image_id, _thumbnail(data, THUMB_PX))
        return Response(png, media_type="image/png", headers=headers)

    @app.get("/images/{image_id}/raw")
    @signed_in
    def raw_image(request, session, fresh, client, image_id: str):
        info, data = client.get_image(image_id)
        return Response(data, media_type=_media_type(data), headers={"Cache-Control": "private, max-age=86400"})

    # --- jobs --------------------------------------------------------------------------------

    @app.get("/jobs", response_class=HTMLResponse)
    @signed_in
    def jobs(request, session, fresh, client):
        resp = client.list_jobs(page_size=PAGE, page_token=request.query_params.get("page", ""))
        return page(request, session, fresh, "jobs.html", jobs=resp.jobs, next_page=resp.page.next_page_token)

    @app.get("/jobs/{job_id}", response_class=HTMLResponse)
    @signed_in
    def job(request, session, fresh, client, job_id: str):
        found = client.get_job(job_id)
        return page(request, session, fresh, "job.html", job=found, terminal=found.state in _TERMINAL,
                    params=json.dumps(struct_dict(found.params), indent=1),
                    result=json.dumps(struct_dict(found.result), indent=1) if found.HasField("result") else "")  # fmt: skip

    @app.get("/jobs/{job_id}/events")
    @signed_in
    def job_events(request, session, fresh, client, job_id: str):
        client.get_job(job_id)  # NOT_FOUND / PERMISSION_DENIED as a page status, before the stream starts

        def stream() -> Iterator[str]:
            # Server-Sent Events from WatchJob (which reconnects by itself); the stream ends with the job.
            try:
                for event in client.watch_job(job_id, after_sequence=int(request.query_params.get("after", 0))):
                    state = event.job.state if event.HasField("job") else event.state
                    data = {"sequence": event.sequence, "state": job_pb2.JobState.Name(state).removeprefix("JOB_STATE_").lower(),
                            "fraction": event.progress.fraction, "step": event.progress.step,
                            "total": event.progress.total_steps, "message": event.message}  # fmt: skip
                    if event.HasField("job"):
                        data["error"] = event.job.error
                    yield f"id: {event.sequence}\nevent: job\ndata: {json.dumps(data)}\n\n"
                yield "event: end\ndata: {}\n\n"
            except ClientError as err:
                yield f"event: failure\ndata: {json.dumps({'code': err.code.name, 'message': err.message})}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    @app.post("/jobs/{job_id}/cancel")
    @signed_in
    async def cancel(request, session, fresh, client, job_id: str):
        if await form_with_csrf(request, session) is None:
            return refused_csrf(request, session, fresh)
        await run_in_threadpool(client.cancel_job, job_id, "cancelled from the web console")
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)

    @app.post("/jobs/diagnostic")
    @signed_in
    async def diagnostic(request, session, fresh, client):
        form = await form_with_csrf(request, session)
        if form is None:
            return refused_csrf(request, session, fresh)
        try:
            seconds, steps = float(form.get("seconds", 5)), int(form.get("steps", 10))
        except ValueError:
            return page(request, session, fresh, "error.html", status=400, code="INVALID_ARGUMENT",
                        message="seconds and steps must be numbers")  # fmt: skip
        started = await run_in_threadpool(
            lambda: client.start_diagnostic_job(seconds=seconds, steps=steps, queue=str(form.get("queue", "cpu")))
        )
        return RedirectResponse(f"/jobs/{started.id}", status_code=303)

    # --- models ------------------------------------------------------------------------------

    @app.get("/models", response_class=HTMLResponse)
    @signed_in
    def models(request, session, fresh, client):
        resp = client.call(client.training.ListModels, tr_pb.ListModelsRequest(page={"page_size": PAGE}))
        return page(request, session, fresh, "models.html", models=resp.models)

    @app.get("/models/{name}", response_class=HTMLResponse)
    @signed_in
    def model(request, session, fresh, client, name: str):
        found = client.call(client.training.GetModel, tr_pb.GetModelRequest(model_name=name)).model
        versions = client.call(client.training.ListModelVersions, tr_pb.ListModelVersionsRequest(
            model_name=name, page={"page_size": PAGE})).model_versions  # fmt: skip
        return page(request, session, fresh, "model.html", model=found, versions=versions)

    @app.get("/versions/{version_id}", response_class=HTMLResponse)
    @signed_in
    def version(request, session, fresh, client, version_id: str):
        found = client.get_model_version(version_id)
        evaluations = client.call(client.training.ListEvaluations, tr_pb.ListEvaluationsRequest(
            model_version_id=version_id, page={"page_size": 20})).evaluations  # fmt: skip
        fooled = drift = None
        if found.kind == model_pb2.MODEL_KIND_GENERATOR:
            stats = client.call(client.detection.GetQuizStats, det_types.GetQuizStatsRequest(generator=version_id))
            fooled = stats.generators[0] if stats.generators else None
        if found.kind == model_pb2.MODEL_KIND_DETECTOR:
            findings = client.call(client.detection.ListDriftFindings, det_types.ListDriftFindingsRequest(
                model_version_id=found.id, page={"page_size": 1})).findings  # fmt: skip
            drift = findings[0] if findings else None
        return page(request, session, fresh, "version.html", version=found, evaluations=evaluations,
                    stages=["staging", "production", "archived"], fooled=fooled, drift=drift)  # fmt: skip

    @app.get("/evaluations/{evaluation_id}", response_class=HTMLResponse)
    @signed_in
    def evaluation(request, session, fresh, client, evaluation_id: str):
        from services.web import plots

        found = client.get_evaluation(evaluation_id)
        report = found.detector if found.WhichOneof("report") == "detector" else None
        return page(request, session, fresh, "evaluation.html", evaluation=found, report=report,
                    plots=plots.available(report) if report is not None else [],
                    perturbation=lambda r: ev_pb.Perturbation.Name(r.perturbation).removeprefix("PERTURBATION_").lower())  # fmt: skip

    @app.get("/evaluations/{evaluation_id}/{plot}.png")
    @signed_in
    def evaluation_plot(request, session, fresh, client, evaluation_id: str, plot: str):
        from services.web import plots

        etag = f'"{evaluation_id}-{plot}"'  # an evaluation never changes once recorded
        headers = {"ETag": etag, "Cache-Control": "private, max-age=86400"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        found = client.get_evaluation(evaluation_id)
        if found.WhichOneof("report") != "detector" or plot not in plots.available(found.detector):
            return JSONResponse({"error": f"no {plot!r} plot for this evaluation"}, status_code=404)
        png = thumbs.get(f"plot:{evaluation_id}:{plot}") or thumbs.put(f"plot:{evaluation_id}:{plot}",
                                                                       plots.draw(found.detector, plot))  # fmt: skip
        return Response(png, media_type="image/png", headers=headers)

    @app.post("/versions/{version_id}/promote")
    @signed_in
    async def promote(request, session, fresh, client, version_id: str):
        form = await form_with_csrf(request, session)
        if form is None:
            return refused_csrf(request, session, fresh)
        await run_in_threadpool(client.promote, version_id, str(form.get("stage", "production")))
        return RedirectResponse(f"/versions/{version_id}", status_code=303)

    # --- detect ------------------------------------------------------------------------------

    @app.get("/detect", response_class=HTMLResponse)
    @signed_in
    def detect_form(request, session, fresh, client):
        return page(request, session, fresh, "detect.html", results=[], max_mb=max_upload_bytes // 2**20)

    @app.post("/detect", response_class=HTMLResponse)
    @signed_in
    async def detect(request, session, fresh, client):
        if not upload_limiter.allow(_client_address(request)):
            return page(request, session, fresh, "error.html", status=429, code="RESOURCE_EXHAUSTED",
                        message="Too many uploads from this address; wait a minute and try again.")  # fmt: skip
        length = int(request.headers.get("content-length") or 0)
        if length > max_upload_bytes:
            return page(request, session, fresh, "error.html", status=413, code="RESOURCE_EXHAUSTED",
                        message=f"The upload is {length / 2**20:.1f} MB; the limit is {max_upload_bytes / 2**20:.0f} MB.")  # fmt: skip
        form = await form_with_csrf(request, session, max_files=16, max_part_size=max_upload_bytes)
        if form is None:
            return refused_csrf(request, session, fresh)
        results = []
        for upload in form.getlist("images"):
            data = await upload.read()
            if not data:
                continue
            try:
                verdict = await run_in_threadpool(
                    lambda: client.detect(data, model_name=str(form.get("model", "")), want_heatmap=True)
                )
            except ClientError as err:
                results.append({"filename": upload.filename, "error": f"{err.code.name}: {err.message}"})
                continue
            rid = secrets.token_urlsafe(12)
            record = _verdict_json(upload.filename, verdict)
            session.data.setdefault("detections", {})[rid] = record
            results.append({**record, "id": rid, "image_uri": _data_uri(data),
                            "heatmap_uri": _heatmap_uri(verdict.heatmap.png) if verdict.heatmap.png else None})  # fmt: skip
        if not results:
            return page(request, session, fresh, "detect.html", status=400, results=[],
                        error="Choose at least one image file.", max_mb=max_upload_bytes // 2**20)  # fmt: skip
        return page(request, session, fresh, "detect.html", results=results, max_mb=max_upload_bytes // 2**20)

    @app.get("/detect/{rid}.json")
    @signed_in
    def detect_json(request, session, fresh, client, rid: str):
        record = session.data.get("detections", {}).get(rid)
        if record is None:
            return JSONResponse({"error": "no such result in this session"}, status_code=404)
        return JSONResponse(record, headers={"Content-Disposition": f'attachment; filename="detection-{rid}.json"'})

    # --- generate ----------------------------------------------------------------------------

    def generators(client) -> list:
        listed = client.call(client.training.ListModels, tr_pb.ListModelsRequest(
            kind=model_pb2.MODEL_KIND_GENERATOR, page={"page_size": PAGE})).models  # fmt: skip
        return [v for m in listed for v in m.latest_versions]

    @app.get("/generate", response_class=HTMLResponse)
    @signed_in
    def generate_form(request, session, fresh, client):
        return page(request, session, fresh, "generate.html", generators=generators(client), run=None)

    @app.post("/generate", response_class=HTMLResponse)
    @signed_in
    async def generate(request, session, fresh, client):
        form = await form_with_csrf(request, session)
        if form is None:
            return refused_csrf(request, session, fresh)
        try:
            run = {"model_version_id": str(form.get("model_version_id", "")), "count": int(form.get("count", 4)),
                   "seed": int(form.get("seed", 0)), "sampler": str(form.get("sampler", "ddim")),
                   "steps": int(form.get("steps", 20)), "class_label": str(form.get("class_label", ""))}  # fmt: skip
        except ValueError:
            return page(request, session, fresh, "error.html", status=400, code="INVALID_ARGUMENT",
                        message="count, seed and steps must be whole numbers")  # fmt: skip
        if not 1 <= run["count"] <= 16:
            return page(request, session, fresh, "error.html", status=400, code="INVALID_ARGUMENT",
                        message=f"count must be between 1 and 16, got {run['count']}")  # fmt: skip
        if run["sampler"] not in ("ddim", "ddpm"):
            return page(request, session, fresh, "error.html", status=400, code="INVALID_ARGUMENT",
                        message="sampler must be ddim or ddpm")  # fmt: skip
        gid = secrets.token_urlsafe(12)
        session.data.setdefault("generations", {})[gid] = run
        gens = await run_in_threadpool(generators, client)
        return page(request, session, fresh, "generate.html", generators=gens, run={**run, "id": gid})

    @app.get("/generate/{gid}/events")
    @signed_in
    def generate_events(request, session, fresh, client, gid: str):
        run = session.data.get("generations", {}).pop(gid, None)  # one stream per submitted form
        if run is None:
            return JSONResponse({"error": "no such generation in this session"}, status_code=404)
        sampling = {"sampler": f"SAMPLER_{run['sampler'].upper()}", "steps": run["steps"],
                    "class_label": run["class_label"]}  # fmt: skip

        def stream() -> Iterator[str]:
            # Each image as it finishes: the page fills its grid from these events.
            try:
                for header, data in client.generate(model_version_id=run["model_version_id"], count=run["count"],
                                                    seed=run["seed"], sampling=sampling):  # fmt: skip
                    payload = {"index": header.index, "seed": header.seed, "width": header.width,
                               "height": header.height, "uri": _data_uri(data)}  # fmt: skip
                    yield f"event: image\ndata: {json.dumps(payload)}\n\n"
                yield "event: end\ndata: {}\n\n"
            except ClientError as err:
                yield f"event: failure\ndata: {json.dumps({'code': err.code.name, 'message': err.message})}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    # --- colorize ----------------------------------------------------------------------------

    @app.get("/colorize", response_class=HTMLResponse)
    @signed_in
    def colorize_form(request, session, fresh, client):
        return page(request, session, fresh, "colorize.html", result=None, max_mb=max_upload_bytes // 2**20)

    @app.post("/colorize", response_class=HTMLResponse)
    @signed_in
    async def colorize(request, session, fresh, client):
        if not upload_limiter.allow(_client_address(request)):
            return page(request, session, fresh, "error.html", status=429, code="RESOURCE_EXHAUSTED",
                        message="Too many uploads from this address; wait a minute and try again.")  # fmt: skip
        if int(request.headers.get("content-length") or 0) > max_upload_bytes:
            return page(request, session, fresh, "error.html", status=413, code="RESOURCE_EXHAUSTED",
                        message=f"The upload is over the {max_upload_bytes / 2**20:.0f} MB limit.")  # fmt: skip
        form = await form_with_csrf(request, session, max_files=1, max_part_size=max_upload_bytes)
        if form is None:
            return refused_csrf(request, session, fresh)
        upload = form.get("image")
        data = await upload.read() if upload is not None and not isinstance(upload, str) else b""
        if not data:
            return page(request, session, fresh, "colorize.html", status=400, result=None,
                        error="Choose a grayscale photo to colorize.", max_mb=max_upload_bytes // 2**20)  # fmt: skip
        colour = await run_in_threadpool(lambda: client.colorize(data, model_name=str(form.get("model", ""))))
        result = {"filename": upload.filename, "before": _data_uri(data), "after": _data_uri(colour)}
        return page(request, session, fresh, "colorize.html", result=result, max_mb=max_upload_bytes // 2**20)

    # --- quiz (public) -------------------------------------------------------------------------

    quiz_client = Client(channel, quiz_token, retries=1, retry_seconds=RETRY_SECONDS) if quiz_token else None

    def quiz_dataset_version() -> str | None:
        """The version the quiz draws from (looked up once a minute)."""

        def look_up() -> str | None:
            name, _, number = quiz_dataset.partition("@")
            found = quiz_client.call(quiz_client.ingestion.ListDatasets, ing_pb.ListDatasetsRequest(
                name_contains=name or "demo-aerial-", page={"page_size": PAGE})).datasets  # fmt: skip
            found = [d for d in found if (d.name == name if name else d.name.startswith("demo-aerial-"))]
            for ds in sorted(found, key=lambda d: d.created_at.ToDatetime(), reverse=True):
                versions = quiz_client.call(quiz_client.ingestion.ListDatasetVersions, ing_pb.ListDatasetVersionsRequest(
                    dataset_id=ds.id, page={"page_size": 100})).dataset_versions  # fmt: skip
                chosen = [v for v in versions if not number or v.version_number == int(number)]
                if chosen:
                    return max(chosen, key=lambda v: v.version_number).id
            return None

        return quiz_version.get(look_up)

    def quiz_player(session: Session) -> dict:
        return session.data.setdefault("quiz", {"player": secrets.token_urlsafe(16), "nickname": "", "start": 0})

    def quiz_unavailable(request, session, fresh, why: str):
        return page(request, session, fresh, "quiz.html", status=503, unavailable=why, tile=None)

    @app.get("/quiz", response_class=HTMLResponse)
    async def quiz(request: Request):
        session, fresh = session_of(request)
        if quiz_client is None:
            return quiz_unavailable(request, session, fresh, "The quiz is not set up on this console (no quiz token).")
        if not quiz_limiter.allow(_client_address(request)):
            return page(request, session, fresh, "error.html", status=429, code="RESOURCE_EXHAUSTED",
                        message="Too many rounds from this address; wait a little and try again.")  # fmt: skip
        me = quiz_player(session)
        try:
            version_id = await run_in_threadpool(quiz_dataset_version)
            if version_id is None:
                return quiz_unavailable(request, session, fresh, "No dataset to play yet: run `make demo`, or set "
                                        "TERRAFAKE_QUIZ_DATASET to a dataset with real and generated images.")  # fmt: skip
            score = (await run_in_threadpool(quiz_client.call, quiz_client.detection.GetQuizSummary,
                                             det_types.GetQuizSummaryRequest(player=me["player"]))).score  # fmt: skip
            if score.rounds - me["start"] >= quiz_rounds:
                return with_cookie(RedirectResponse("/quiz/summary", status_code=303), session)
            drawn = await run_in_threadpool(quiz_client.call, quiz_client.detection.StartQuizRound,
                                            det_types.StartQuizRoundRequest(dataset_version_id=version_id,
                                                                            player=me["player"],
                                                                            nickname=me["nickname"]), retry=False)  # fmt: skip
        except ClientError as err:
            return quiz_unavailable(request, session, fresh, f"{err.code.name}: {err.message}")
        tile = {"uri": f"data:image/png;base64,{base64.b64encode(drawn.png).decode()}", "token": drawn.round_token,
                "width": drawn.width, "height": drawn.height}  # fmt: skip
        return page(request, session, fresh, "quiz.html", tile=tile, me=me, round=score.rounds - me["start"] + 1,
                    of=quiz_rounds)  # fmt: skip

    @app.post("/quiz/answer", response_class=HTMLResponse)
    async def quiz_answer(request: Request):
        session, fresh = session_of(request)
        form = await form_with_csrf(request, session)
        if form is None:
            return refused_csrf(request, session, fresh)
        if quiz_client is None or not quiz_limiter.allow(_client_address(request)):
            return page(request, session, fresh, "error.html", status=429, code="RESOURCE_EXHAUSTED",
                        message="Too many answers from this address; wait a little and try again.")  # fmt: skip
        me = quiz_player(session)
        answer = {"real": det_types.QUIZ_ANSWER_REAL, "generated": det_types.QUIZ_ANSWER_GENERATED}.get(
            str(form.get("answer", "")), det_types.QUIZ_ANSWER_UNSPECIFIED)  # fmt: skip
        try:
            result = await run_in_threadpool(quiz_client.call, quiz_client.detection.AnswerQuizRound,
                                             det_types.AnswerQuizRoundRequest(round_token=str(form.get("round", "")),
                                                                              player=me["player"], answer=answer),
                                             retry=False)  # fmt: skip
        except ClientError as err:
            status = _STATUS.get(err.code, 502)
            return page(request, session, fresh, "error.html", status=status, code=err.code.name, message=err.message)
        truth = "generated" if result.truth == det_types.QUIZ_ANSWER_GENERATED else "real"
        played = result.score.rounds - me["start"]
        return page(request, session, fresh, "quiz_result.html", result=result, truth=truth, played=played,
                    of=quiz_rounds, done=played >= quiz_rounds)  # fmt: skip

    @app.post("/quiz/nickname")
    async def quiz_nickname(request: Request):
        session, fresh = session_of(request)
        form = await form_with_csrf(request, session)
        if form is None:
            return refused_csrf(request, session, fresh)
        nickname = " ".join(str(form.get("nickname", "")).split())[:32]
        if not nickname.isprintable():
            nickname = ""
        quiz_player(session)["nickname"] = nickname
        return with_cookie(RedirectResponse("/quiz", status_code=303), session) if fresh else RedirectResponse("/quiz", status_code=303)

    @app.get("/quiz/summary", response_class=HTMLResponse)
    async def quiz_summary(request: Request):
        session, fresh = session_of(request)
        if quiz_client is None:
            return quiz_unavailable(request, session, fresh, "The quiz is not set up on this console (no quiz token).")
        me = quiz_player(session)
        try:
            score = (await run_in_threadpool(quiz_client.call, quiz_client.detection.GetQuizSummary,
                                             det_types.GetQuizSummaryRequest(player=me["player"]))).score  # fmt: skip
            board = (await run_in_threadpool(quiz_client.call, quiz_client.detection.GetQuizLeaderboard,
                                             det_types.GetQuizLeaderboardRequest(limit=10, min_rounds=quiz_rounds))).entries  # fmt: skip
        except ClientError as err:
            return quiz_unavailable(request, session, fresh, f"{err.code.name}: {err.message}")
        return page(request, session, fresh, "quiz_summary.html", score=score, board=board, me=me)

    @app.post("/quiz/again")
    async def quiz_again(request: Request):
        session, fresh = session_of(request)
        if await form_with_csrf(request, session) is None:
            return refused_csrf(request, session, fresh)
        me = quiz_player(session)
        if quiz_client is not None:
            score = (await run_in_threadpool(quiz_client.call, quiz_client.detection.GetQuizSummary,
                                             det_types.GetQuizSummaryRequest(player=me["player"]))).score  # fmt: skip
            me["start"] = score.rounds  # a new game counts from here; the server's totals stay
        return RedirectResponse("/quiz", status_code=303)

    return app


class _Cached:
    """One value, recomputed after `ttl_s` (a None result is not kept)."""

    def __init__(self, ttl_s: float):
        self.ttl_s, self._value, self._at = ttl_s, None, -1e18

    def get(self, compute):
        import time

        if self._value is None or time.monotonic() - self._at > self.ttl_s:
            self._value, self._at = compute(), time.monotonic()
        return self._value


_TERMINAL = {job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED}


def _local(path) -> str:
    """Only same-site paths after sign-in (no open redirect)."""
    path = str(path or "/datasets")
    return path if path.startswith("/") and not path.startswith("//") else "/datasets"


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _thumbnail(data: bytes, size: int) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image = image.convert("RGB")
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.save(out, "PNG", optimize=False, compress_level=1)
        return out.getvalue()


def _media_type(data: bytes) -> str:
    fmt = sniff_format(data)
    return f"image/{fmt}" if fmt in ("png", "jpeg", "tiff") else "application/octet-stream"


def _data_uri(data: bytes) -> str:
    media = _media_type(data)
    if media not in ("image/png", "image/jpeg"):  # a browser shows neither TIFF nor unknowns: re-encode
        with Image.open(io.BytesIO(data)) as image:
            out = io.BytesIO()
            image.convert("RGB").save(out, "PNG", compress_level=1)
            data, media = out.getvalue(), "image/png"
    return f"data:{media};base64,{base64.b64encode(data).decode()}"


def _heatmap_uri(png: bytes) -> str:
    """The crop-score map as a red overlay whose opacity is the score (drawn over the image by CSS)."""
    with Image.open(io.BytesIO(png)) as heat:
        alpha = heat.convert("L").point(lambda v: int(v * 0.7))
        overlay = Image.new("RGBA", heat.size, (220, 30, 30, 0))
        overlay.putalpha(alpha)
        out = io.BytesIO()
        overlay.save(out, "PNG")
    return f"data:image/png;base64,{base64.b64encode(out.getvalue()).decode()}"


def _verdict_json(filename: str | None, verdict) -> dict:
    return {
        "filename": filename,
        "label": det_types.DetectionLabel.Name(verdict.label).removeprefix("DETECTION_LABEL_").lower(),
        "p_generated": verdict.p_generated,
        "threshold": verdict.threshold,
        "uncertain_band": [verdict.uncertain_lower, verdict.uncertain_upper],
        "model_version_id": verdict.model_version_id,
        "width": verdict.image_width,
        "height": verdict.image_height,
    }
