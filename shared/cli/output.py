"""Printing for the CLI: tables and a progress bar for people, JSON for scripts."""

from __future__ import annotations

import json
import shutil
import sys
import time

from google.protobuf.json_format import MessageToDict

from shared.structs import whole_numbers

from terrafake.jobs.v1 import job_pb2


def to_dict(message) -> dict:
    return whole_numbers(MessageToDict(message, preserving_proto_field_name=True))


def emit_json(value) -> None:
    if hasattr(value, "DESCRIPTOR"):
        value = to_dict(value)
    print(json.dumps(value, indent=2, sort_keys=True, default=str))


def state_name(state: int) -> str:
    return job_pb2.JobState.Name(state).removeprefix("JOB_STATE_")


def fmt_seconds(seconds: float) -> str:
    if seconds < 0:
        return "?"
    seconds = int(round(seconds))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:d}:{s:02d}"


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def job_summary(job: job_pb2.Job) -> str:
    lines = [
        f"job       {job.id}",
        f"kind      {job.kind} (queue {job.queue})",
        f"state     {state_name(job.state)}" + ("  [cancel requested]" if job.cancel_requested else ""),
        f"progress  {job.progress.fraction * 100:.0f}%  {job.progress.message}",
        f"attempts  {job.attempts}/{job.max_attempts}",
    ]
    if job.metrics:
        lines.append("metrics   " + ", ".join(f"{k}={v:g}" for k, v in sorted(job.metrics.items())))
    if job.error:
        lines.append(f"error     {job.error}")
    result = to_dict(job).get("result")
    if result:
        lines.append(f"result    {json.dumps(result, sort_keys=True)}")
    return "\n".join(lines)


class ProgressBar:
    """One self-rewriting line on a terminal; plain lines when piped."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last_line = ""
        self._last_plain = 0.0
        self._last_state = ""

    def update(self, fraction: float, state: str, message: str, eta: float) -> None:
        width = max(10, min(40, shutil.get_terminal_size((80, 20)).columns - 50))
        filled = int(round(fraction * width))
        bar = "#" * filled + "-" * (width - filled)
        line = f"[{bar}] {fraction * 100:5.1f}%  {state:<9} eta {fmt_seconds(eta):>7}  {message}"
        if self.tty:
            self.stream.write("\r" + line[: shutil.get_terminal_size((80, 20)).columns - 1].ljust(len(self._last_line)))
            self.stream.flush()
            self._last_line = line
        elif line != self._last_line and (
            time.monotonic() - self._last_plain > 0.5 or fraction >= 1 or state != self._last_state
        ):
            self.stream.write(line + "\n")
            self.stream.flush()
            self._last_line, self._last_plain, self._last_state = line, time.monotonic(), state

    def note(self, text: str) -> None:
        if self.tty and self._last_line:
            self.stream.write("\n")
            self._last_line = ""
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._last_line:
            self.stream.write("\n")
            self.stream.flush()
