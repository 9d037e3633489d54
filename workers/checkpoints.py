"""Training checkpoints mirrored to the object store, so a job continues on whichever node runs it next.

The trainers write checkpoints into the job's work folder (shared.training.checkpoint); with an object
store configured, `CheckpointSync` uploads each new one to `jobs/<job id>/checkpoints/step-N/` as soon
as it is complete, from the step callback (so from the training thread, between steps: nothing writes
or prunes the folder meanwhile), and deletes the stored ones the trainer pruned. An attempt that starts
on a node without the newest checkpoint (the previous attempt's node was killed) downloads it first;
`resume_from_job_id` does the same with the other job's checkpoints.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from shared.storage import ObjectStore, delete_tree, list_trees, materialise, put_tree

log = logging.getLogger("terrafake.worker")

_STEP = re.compile(r"^step-(\d+)$")


def checkpoint_prefix(job_id) -> str:
    return f"jobs/{job_id}/checkpoints/"


def _step(name: str) -> int:
    return int(_STEP.match(name).group(1))


class CheckpointSync:
    def __init__(self, store: ObjectStore, job_id, work_dir: Path):
        self.store = store
        self.prefix = checkpoint_prefix(job_id)
        self.local = Path(work_dir) / "checkpoints"
        self._stored: set[str] | None = None
        self._seen: tuple[str, ...] = ()

    def _local(self) -> list[str]:
        """The complete checkpoints in the work folder (the trainer's `CheckpointManager.list` rule)."""
        try:
            names = os.listdir(self.local)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if _STEP.match(n) and (self.local / n / "state.json").is_file())

    def stored(self, prefix: str | None = None) -> list[str]:
        return [n for n in list_trees(self.store, prefix or self.prefix) if _STEP.match(n)]

    def pull(self, source_job_id=None) -> str | None:
        """Download the newest stored checkpoint of this job (or of `source_job_id`) when the work folder has
        none as new; its name, or None when nothing was downloaded."""
        prefix = checkpoint_prefix(source_job_id) if source_job_id else self.prefix
        remote = self.stored(prefix)
        if not remote:
            return None
        newest = max(remote, key=_step)
        local = self._local()
        if local and max(map(_step, local)) >= _step(newest):
            return None
        materialise(self.store, f"{prefix}{newest}/", self.local / newest)
        log.info("checkpoint %s downloaded from %s", newest, self.store.uri(prefix))
        return newest

    def push(self) -> None:
        """Upload the complete local checkpoints not stored yet; delete stored ones no longer kept locally."""
        local = self._local()
        if tuple(local) == self._seen:
            return
        if self._stored is None:
            self._stored = set(self.stored())
        for name in local:
            if name not in self._stored:
                put_tree(self.store, self.local / name, f"{self.prefix}{name}/")
                self._stored.add(name)
        newest = max(map(_step, local), default=-1)
        for name in sorted(self._stored - set(local)):
            if _step(name) < newest:  # pruned by the trainer; never one newer than ours (another attempt's)
                delete_tree(self.store, f"{self.prefix}{name}/")
                self._stored.discard(name)
        self._seen = tuple(local)

    def wrap(self, on_step):
        """`on_step` that first uploads any checkpoint written since the last step."""

        def on_step_synced(step: int, total: int, metrics: dict) -> None:
            self.push()
            on_step(step, total, metrics)

        return on_step_synced
