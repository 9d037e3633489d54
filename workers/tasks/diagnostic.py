"""The diagnostic job: sleeps in steps and reports progress.

It checks that a queue's workers are alive and exercises every path of the
job machinery: progress, cancellation, failures and transient retries.
"""

from __future__ import annotations

from shared.errors import FailedPrecondition, TransientError
from workers.runtime import JobContext, job_task


@job_task("diagnostic.sleep")
def sleep(ctx: JobContext) -> dict:
    params = ctx.params
    steps = int(params.get("steps", 10))
    seconds = float(params.get("seconds", 0))
    fail_at = int(params.get("fail_at_step", 0))
    if ctx.attempt <= int(params.get("transient_failures", 0)):
        raise TransientError(f"simulated transient failure on attempt {ctx.attempt}")
    for step in range(1, steps + 1):
        ctx.check_cancelled()
        if step == fail_at:
            raise FailedPrecondition(f"simulated failure at step {step} of {steps}")
        ctx.sleep(seconds / steps)
        ctx.progress(step, steps, f"step {step}/{steps}", {"steps_done": step})
    return {"slept_seconds": seconds, "steps": steps}
