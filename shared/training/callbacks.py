"""The progress callback every trainer accepts, and how the loop calls it.

`on_step(step, total, metrics)` runs after each optimiser step with `step` the
number of steps completed (1..total) and that step's numbers (e.g. {"loss":
0.12, "lr": 2e-4}). It may raise any exception to stop training, typically
when the job was cancelled: the loop then writes a checkpoint at `step` and
re-raises, so the next call with the same work_dir continues from there.
Calls are cheap for the loop; throttling database writes is the caller's job.
"""

from __future__ import annotations

from typing import Callable

StepCallback = Callable[[int, int, dict[str, float]], None]
