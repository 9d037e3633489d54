"""JobService servicer."""

from __future__ import annotations

import math

from services import convert
from services.context import ServiceContext
from shared.errors import InvalidArgument
from shared.jobs.kinds import QUEUES
from shared.jobs.store import EVENT_STATE, TERMINAL, parse_job_id
from terrafake.jobs.v1 import job_pb2, jobs_service_pb2 as pb, jobs_service_pb2_grpc

# How long a watcher sleeps without a notification before re-reading anyway;
# a safety net for a dropped listener connection, not the delivery path.
_WATCH_RECHECK_SECONDS = 5.0


def _event_message(row: dict) -> pb.WatchJobResponse:
    msg = pb.WatchJobResponse(
        sequence=row["seq"],
        type=pb.JobEventType.Value(f"JOB_EVENT_TYPE_{row['type']}"),
        state=convert.job_state(row["state"]),
        progress=convert.progress(row),
        message=row["message"],
        metrics={k: float(v) for k, v in (row["metrics"] or {}).items()},
    )
    msg.time.CopyFrom(convert.timestamp(row["at"]))
    return msg


class JobServicer(jobs_service_pb2_grpc.JobServiceServicer):
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx

    def GetJob(self, request, context):
        return pb.GetJobResponse(job=convert.job(self.ctx.jobs.get(request.job_id)))

    def ListJobs(self, request, context):
        states = [convert.job_state_name(s) for s in request.states if s != job_pb2.JOB_STATE_UNSPECIFIED]
        rows, token, total = self.ctx.jobs.list(
            kinds=list(request.kinds),
            states=states,
            page_size=self.ctx.page_size(request.page.page_size),
            page_token=request.page.page_token,
        )
        return pb.ListJobsResponse(
            jobs=[convert.job(r) for r in rows],
            page={"next_page_token": token, "total_size": total},
        )

    def WatchJob(self, request, context):
        jid = parse_job_id(request.job_id)
        if request.after_sequence < 0:
            raise InvalidArgument("after_sequence must not be negative")
        sub = self.ctx.listener.subscribe(jid)  # before the first read: no wake-up is missed
        try:
            job = self.ctx.jobs.get(jid)
            last = request.after_sequence
            while context.is_active():
                events = self.ctx.jobs.events_after(jid, last)
                for row in events:
                    msg = _event_message(row)
                    last = row["seq"]
                    final = row["type"] == EVENT_STATE and row["state"] in TERMINAL
                    if final:
                        msg.job.CopyFrom(convert.job(self.ctx.jobs.get(jid)))
                    yield msg
                    if final:
                        return
                if not events:
                    if job["state"] in TERMINAL:
                        return  # caller already saw the end
                    if not sub.wait(_WATCH_RECHECK_SECONDS):
                        job = self.ctx.jobs.get(jid)
        finally:
            self.ctx.listener.unsubscribe(sub)

    def CancelJob(self, request, context):
        if len(request.reason) > 1000:
            raise InvalidArgument("reason must be at most 1000 characters")
        row = self.ctx.jobs.request_cancel(request.job_id, request.reason)
        return pb.CancelJobResponse(job=convert.job(row))

    def StartDiagnosticJob(self, request, context):
        limits = self.ctx.settings.limits
        if not math.isfinite(request.seconds) or not 0 <= request.seconds <= limits.max_diagnostic_seconds:
            raise InvalidArgument(f"seconds must be between 0 and {limits.max_diagnostic_seconds:g}")
        steps = request.steps or 10
        if not 1 <= steps <= 10_000:
            raise InvalidArgument(f"steps must be between 1 and 10000, got {steps}")
        queue = request.queue or "cpu"
        if queue not in QUEUES:
            raise InvalidArgument(f"queue must be one of {', '.join(QUEUES)}, got {queue!r}")
        if request.fail_at_step < 0 or request.fail_at_step > steps:
            raise InvalidArgument(f"fail_at_step must be between 0 and steps ({steps})")
        if request.transient_failures < 0:
            raise InvalidArgument("transient_failures must not be negative")
        job = self.ctx.submit(
            "diagnostic.sleep",
            {
                "seconds": request.seconds,
                "steps": steps,
                "fail_at_step": request.fail_at_step,
                "transient_failures": request.transient_failures,
            },
            queue=queue,
            idempotency_key=request.idempotency_key,
            max_attempts=request.max_attempts,
        )
        return pb.StartDiagnosticJobResponse(job=convert.job(job))

    def GetCaller(self, request, context):
        from services.interceptors import principal

        who = principal()
        return pb.GetCallerResponse(name=who.name, role=who.role)
