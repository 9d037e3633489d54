"""The step loop every trainer shares: resume, step, log, checkpoint, report progress, stop cleanly.

A trainer supplies a `TrainingState` (what to checkpoint) and `step_fn(step)`
that performs optimiser step number `step` (0-based) and returns its numbers.
The loop:

1. resumes from the newest checkpoint in `work_dir` if there is one, after
   checking it belongs to the same run (architecture, config, hyperparameters,
   seed; otherwise ValueError: a different run must use another work_dir; a
   hyperparameter added since the checkpoint was written matches its default);
2. runs steps until `max_steps`, averaging the numbers over each `log_every`
   window into `history`;
3. checkpoints every `checkpoint_interval` steps and after the last step;
4. calls `on_step(step, max_steps, metrics)` after every step; if it raises,
   checkpoints at that step and re-raises (cancellation loses nothing).

An exception from `step_fn` itself propagates without a checkpoint: the state
may be half-updated (e.g. the optimiser stepped but the EMA did not), and the
previous checkpoint is the safe place to resume from.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

from shared.models import pick_device
from shared.training.callbacks import StepCallback
from shared.training.checkpoint import CheckpointManager, TrainingState


def resolve_device(device: torch.device | str) -> torch.device:
    """A torch.device from a device or a preference string ("cpu", "cuda", "cuda:1", "auto")."""
    return device if isinstance(device, torch.device) else pick_device(str(device))


@contextlib.contextmanager
def isolated_rng(seed: int, device: torch.device) -> Iterator[None]:
    """Seed the global torch RNG (model init, dropout) without disturbing the caller's RNG state."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def optimiser_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler, parameters, max_norm: float) -> float:
    """Backward through the grad scaler, clip the gradient norm, step; returns the norm before clipping.

    The gradients are unscaled before clipping, so `max_norm` is in the loss's own units under mixed precision too.
    """
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    grad_norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm)
    scaler.step(optimizer)
    scaler.update()
    return float(grad_norm)


@dataclass
class LoopOutcome:
    history: list[dict]
    final_metrics: dict[str, float]  # the last log window's averages
    steps: int
    seconds: float  # training time over all calls that built this run
    resumed_from: int  # 0 for a fresh run
    seconds_this_call: float

    def summary(self) -> dict[str, float]:
        """Headline numbers for TrainResult.metrics; speed from this call's own steps when it ran any."""
        ran = self.steps - self.resumed_from
        speed = ran / self.seconds_this_call if ran and self.seconds_this_call > 0 else (
            self.steps / self.seconds if self.seconds > 0 else 0.0
        )
        return {**self.final_metrics, "steps": float(self.steps), "seconds": self.seconds, "steps_per_second": speed}


def _normalise(value: Any) -> Any:
    """JSON round trip, so tuples and lists (and int/float keys) compare as they are stored."""
    return json.loads(json.dumps(value, sort_keys=True))


def run_loop(
    state: TrainingState,
    step_fn: Callable[[int], dict[str, float]],
    *,
    identity: dict[str, Any],
    max_steps: int,
    work_dir: Path,
    checkpoint_interval: int,
    log_every: int,
    on_step: StepCallback | None,
    hparam_defaults: dict[str, Any] | None = None,
) -> LoopOutcome:
    """Run (or resume from the newest checkpoint in work_dir) until max_steps.

    A checkpoint is resumed only if its stored identity equals `identity`. Given
    `hparam_defaults`, a hyperparameter the checkpoint does not record (one added
    to the trainer after it was written) counts as equal when this run leaves it
    at its default, so upgrading the code does not strand a long run half-way.
    """
    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    manager = CheckpointManager(work_dir)
    identity = _normalise(identity)
    step, history, window, seconds_before = 0, [], [], 0.0
    latest = manager.latest()
    if latest is not None:
        stored = manager.load(latest, state)["loop"]
        stored_identity = _with_new_defaults(stored["identity"], identity, hparam_defaults)
        if stored_identity != identity:
            raise ValueError(
                f"{work_dir} holds a checkpoint of a different run ({_difference(stored_identity, identity)}); "
                "use a new work_dir or the original settings"
            )
        step, history, window = stored["step"], stored["history"], stored["window"]
        seconds_before = stored["seconds"]
    resumed_from = step
    started = time.perf_counter()
    saved_step = step

    def save() -> None:
        nonlocal saved_step
        loop_state = {
            "identity": identity,
            "step": step,
            "history": history,
            "window": window,
            "seconds": seconds_before + time.perf_counter() - started,
        }
        manager.save(state, step, loop_state)
        saved_step = step

    while step < max_steps:
        metrics = step_fn(step)
        step += 1
        window.append(metrics)
        if step % log_every == 0 or step == max_steps:
            history.append({"step": step, **_mean(window), "seconds": seconds_before + time.perf_counter() - started})
            window = []
        if on_step is not None:
            try:
                on_step(step, max_steps, dict(metrics))
            except BaseException:
                save()
                raise
        if checkpoint_interval > 0 and step % checkpoint_interval == 0:
            save()
    if saved_step != step:
        save()
    final = {k: v for k, v in history[-1].items() if k not in ("step", "seconds")} if history else {}
    return LoopOutcome(
        history=history,
        final_metrics=final,
        steps=step,
        seconds=seconds_before + time.perf_counter() - started,
        resumed_from=resumed_from,
        seconds_this_call=time.perf_counter() - started,
    )


def _mean(window: list[dict[str, float]]) -> dict[str, float]:
    keys = [k for k in window[0]]
    # A key missing from some steps (e.g. adversarial terms before the GAN stage) averages over the steps that have it.
    for entry in window[1:]:
        keys.extend(k for k in entry if k not in keys)
    return {k: float(sum(e[k] for e in window if k in e) / sum(1 for e in window if k in e)) for k in keys}


def _with_new_defaults(stored: dict, current: dict, defaults: dict[str, Any] | None) -> dict:
    """`stored` with the hyperparameters it lacks taken from `current` where those are at their defaults."""
    if not defaults or not isinstance(stored.get("hparams"), dict) or not isinstance(current.get("hparams"), dict):
        return stored
    defaults = _normalise(defaults)
    missing = {k: v for k, v in current["hparams"].items()
               if k not in stored["hparams"] and k in defaults and v == defaults[k]}  # fmt: skip
    return {**stored, "hparams": {**stored["hparams"], **missing}} if missing else stored


def _difference(stored: dict, current: dict, prefix: str = "") -> str:
    """The keys that differ, as 'hparams.lr: 0.002 -> 0.0001' (nested dicts named by their path)."""
    parts = []
    for k in sorted(k for k in set(stored) | set(current) if stored.get(k) != current.get(k)):
        a, b = stored.get(k), current.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            parts.append(_difference(a, b, f"{prefix}{k}."))
        else:
            shown = [repr(d[k]) if k in d else "(absent)" for d in (stored, current)]
            parts.append(f"{prefix}{k}: {shown[0]} -> {shown[1]}")
    return ", ".join(parts)
