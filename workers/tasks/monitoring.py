"""Drift jobs: compare a window of a detector's logged detections with its evaluation reference.

The window and thresholds are fixed when the job is submitted (DetectionService.CheckDrift), so a
requeued attempt compares the same rows and overwrites the same finding (one per job). Before it
reads, the job deletes log rows past the retention, so a finding never rests on rows that should
be gone; the server's log writer prunes hourly as well.
"""

from __future__ import annotations

import logging
from datetime import datetime

from shared.errors import FailedPrecondition
from shared.monitoring.drift import STATISTICS, Thresholds, compare
from shared.monitoring.inference_log import InferenceLogStore
from shared.monitoring.store import DriftStore
from workers.runtime import JobContext, job_task

log = logging.getLogger("terrafake.worker")


@job_task("monitoring.drift")
def check_drift(ctx: JobContext) -> dict:
    params = ctx.params
    vid = params["model_version_id"]
    start, end = datetime.fromisoformat(params["window_start"]), datetime.fromisoformat(params["window_end"])
    thresholds = Thresholds(**params["thresholds"])
    logs, drift = InferenceLogStore(ctx.store.db), DriftStore(ctx.store.db)
    ctx.progress(0, 3, "pruning the inference log", force=True)
    logs.prune(ctx.settings.inference_log_retention_days)
    reference = drift.reference(vid)
    if reference is None:
        raise FailedPrecondition(f"model version {vid} has no drift reference any more: evaluate it again")
    ctx.check_cancelled()
    ctx.progress(1, 3, "reading the window")
    window = logs.window(vid, start, end)
    found = len(window[STATISTICS[0]])
    if found < int(params["min_detections"]):
        raise FailedPrecondition(f"the window now holds {found} detections, fewer than the {params['min_detections']} "
                                 "asked for (rows past the retention were deleted)")  # fmt: skip
    ctx.progress(2, 3, f"comparing {found} detections with {reference.num_images} evaluated images")
    results = [
        compare(name, reference.statistics[name], window[name], thresholds,
                reference_count=max(reference.num_images, len(reference.statistics[name])))
        for name in STATISTICS if reference.statistics.get(name)
    ]  # fmt: skip
    drifted = any(r.drifted for r in results)
    row = drift.save_finding(
        job_id=ctx.job_id, model_version_id=vid, evaluation_id=reference.evaluation_id, window_start=start,
        window_end=end, num_detections=found, drifted=drifted, statistics=[r.to_dict() for r in results],
        thresholds=thresholds.to_dict(),
    )  # fmt: skip
    verdicts = [f"{r.name} {'DRIFTED' if r.drifted else 'ok'} (KS {r.ks:.3f}, PSI {r.psi:.3f})" for r in results]
    log.info("drift check of %s over %d detections: %s", vid, found, ", ".join(verdicts))
    ctx.progress(3, 3, "drifted" if drifted else "no drift")
    return {"finding_id": str(row["id"]), "drifted": drifted,
            "drifted_statistics": [r.name for r in results if r.drifted]}  # fmt: skip
