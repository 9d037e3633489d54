"""What every benchmark shares: machine facts, a throwaway local stack, tables, percentiles, the JSON file.

`local_stack()` starts the same stack users run (`Stack.up()`: embedded
Postgres and Redis, the gRPC server, one Celery worker per queue) in a
temporary TERRAFAKE_HOME, and on the way out stops it and checks with psutil
that none of the processes it started is still alive.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, Sequence

import psutil

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"

# Variables of the caller's shell that would point the stack at other servers.
_STACK_VARS = ("DATABASE_URL", "REDIS_URL", "TERRAFAKE_GRPC_ADDRESS", "TERRAFAKE_TOKEN", "TERRAFAKE_HOME")


# --- machine ------------------------------------------------------------------------


def _first_cpu() -> dict[str, str]:
    """The first processor's block of /proc/cpuinfo as {field: value}; empty where there is none."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def cpu_model() -> str:
    return _first_cpu().get("model name") or platform.processor() or "unknown"


def cpu_generation() -> str:
    """'family F model M': virtual machines often name only the vendor in the model name."""
    cpu = _first_cpu()
    return f"family {cpu['cpu family']} model {cpu['model']}" if "cpu family" in cpu and "model" in cpu else "unknown"


def machine_info() -> dict:
    import torch

    gpu = None
    if torch.cuda.is_available():
        gpu = {"name": torch.cuda.get_device_name(0), "count": torch.cuda.device_count(), "cuda": torch.version.cuda}
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return {
        "cpu_model": cpu_model(),
        # Two machines both named "AMD EPYC" ran torch 3-4x apart (bench/RESULTS.md, fifth pass).
        "cpu_generation": cpu_generation(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cores": cores,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "gpu": gpu,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def machine_line(info: dict) -> str:
    gpu = info["gpu"]["name"] if info["gpu"] else "no GPU"
    return (
        f"{info['cpu_model']} ({info.get('cpu_generation', '?')}, {info.get('torch_cpu_capability', '?')}), "
        f"{info['cores']} cores, {gpu}, torch {info['torch']} "
        f"({info['torch_threads']} threads), {info['date'][:10]}, load avg {info['load_average_at_start']}"
    )


# --- numbers and tables -----------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100); nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(values_s: Sequence[float]) -> dict:
    """p50/p90/p99/max/mean of seconds, in milliseconds."""
    ms = [v * 1000.0 for v in values_s]
    return {
        "n": len(ms),
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else float("nan"),
        "mean_ms": statistics.fmean(ms) if ms else float("nan"),
    }


def fmt(value, digits: int = 1) -> str:
    if isinstance(value, float):
        if value != value:  # nan
            return "-"
        return f"{value:,.{digits}f}"
    if value is None:
        return "-"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence], digits: int = 1) -> str:
    """A GitHub-markdown table (readable in a terminal and pasteable into RESULTS.md)."""
    cells = [[fmt(c, digits) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) if cells else len(str(h)) for i, h in enumerate(headers)]
    line = lambda items: "| " + " | ".join(str(x).ljust(w) for x, w in zip(items, widths)) + " |"  # noqa: E731
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells]
    return "\n".join(out)


def verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("MET" if met else "MISSED")


def write_results(name: str, payload: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    if isinstance(payload.get("machine"), dict):  # other work on a shared machine shows up here
        payload["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")
    return path


class Deadline:
    """A wall-clock budget every loop checks, so no benchmark can run away."""

    def __init__(self, seconds: float, what: str):
        self.end = time.monotonic() + seconds
        self.seconds = seconds
        self.what = what

    def left(self) -> float:
        return self.end - time.monotonic()

    def check(self, doing: str = "") -> None:
        if time.monotonic() > self.end:
            raise TimeoutError(f"{self.what}: over its {self.seconds:.0f}s budget" + (f" while {doing}" if doing else ""))


# --- CPU accounting ------------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds (user + system) of named process trees, this process and the whole machine."""

    def __init__(self, roots: dict[str, list[int]]):
        self.roots = {k: [r for r in v if r] for k, v in roots.items() if any(v)}

    @staticmethod
    def _tree(pid: int) -> float:
        total = 0.0
        with contextlib.suppress(psutil.Error):
            p = psutil.Process(pid)
            procs = [p] + p.children(recursive=True)
            for q in procs:
                with contextlib.suppress(psutil.Error):
                    t = q.cpu_times()
                    total += t.user + t.system
        return total

    def sample(self) -> dict:
        me = psutil.Process().cpu_times()
        machine = psutil.cpu_times()
        out = {"bench process (clients)": me.user + me.system}
        for name, pids in self.roots.items():
            out[name] = sum(self._tree(pid) for pid in pids)
        out["_machine"] = machine.user + machine.system + machine.nice + getattr(machine, "irq", 0) + getattr(machine, "softirq", 0)
        return out

    @staticmethod
    def delta(a: dict, b: dict, images: int, wall: float) -> dict:
        """CPU between two samples, per image (or tile: any unit of work) and in all."""
        d = {k: b[k] - a[k] for k in a}
        machine = d.pop("_machine")
        d["rest of the machine"] = max(0.0, machine - sum(d.values()))
        return {
            "cpu_ms_per_image": {k: 1000 * v / max(images, 1) for k, v in d.items()},
            "cpu_seconds": d,
            "machine_busy_cores": machine / max(wall, 1e-9),
        }


# --- the local stack ----------------------------------------------------------------------


def _stack_pids(stack) -> list[int]:
    """Every pid the stack started: supervisord, its programs, their children (Celery pool), the postmaster."""
    pids = []
    names = ["grpc", "redis", "triton", *(f"worker-{q}" for q in stack.state.get("queues", []))]
    records = [r for r in (stack.process(n) for n in names) if r]
    records.append((stack.state.get("supervisor") or {}).get("process") or {})
    for record in records:
        pid = record.get("pid")
        if not pid:
            continue
        pids.append(pid)
        with contextlib.suppress(psutil.Error):
            pids += [c.pid for c in psutil.Process(pid).children(recursive=True)]
    pg = stack.state.get("postgres", {})
    if pg.get("data_dir"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            postmaster = int((Path(pg["data_dir"]) / "postmaster.pid").read_text().split()[0])
            pids.append(postmaster)
            with contextlib.suppress(psutil.Error):
                pids += [c.pid for c in psutil.Process(postmaster).children(recursive=True)]
    return sorted(set(pids))


def _still_alive(pids: Sequence[int]) -> list[str]:
    left = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            p = psutil.Process(pid)
            if p.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{pid} {' '.join(p.cmdline())[:80]}")
    return left


@contextlib.contextmanager
def local_stack(queues: tuple[str, ...] = ("cpu", "gpu"), env: dict[str, str] | None = None) -> Iterator:
    """Start a fresh local stack in a temporary TERRAFAKE_HOME; stop it and check nothing is left.

    Yields the Stack; its admin token is in stack.settings.admin_token_file."""
    from shared.config import Settings
    from shared.stack.manager import Stack
    from shared.stack.procs import free_port

    saved = dict(os.environ)
    for key in _STACK_VARS:
        os.environ.pop(key, None)
    home = Path(tempfile.mkdtemp(prefix="terrafake-bench-"))
    home.chmod(0o755)  # under root the embedded Postgres runs as another user and must reach it
    os.environ["TERRAFAKE_HOME"] = str(home)
    os.environ["TERRAFAKE_GRPC_ADDRESS"] = f"127.0.0.1:{free_port()}"
    os.environ.update(env or {})
    stack = Stack(Settings.from_env())
    started = time.monotonic()
    try:
        stack.up(queues=queues)
        print(f"[stack] up in {time.monotonic() - started:.1f}s at {stack.grpc_address} (home {home}, queues {queues})")
        yield stack
    finally:
        pids = _stack_pids(stack)
        stopped = stack.down()
        deadline = time.monotonic() + 20
        left = _still_alive(pids)
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = _still_alive(pids)
        if left:
            print(f"[stack] WARNING: still running after down(): {left}", file=sys.stderr)
        else:
            print(f"[stack] down: stopped {', '.join(stopped) or 'nothing'}; none of its {len(pids)} pids is left")
        os.environ.clear()
        os.environ.update(saved)
        if not left:
            data_dir = stack.state.get("postgres", {}).get("data_dir")
            shutil.rmtree(home, ignore_errors=True)
            if data_dir and not str(data_dir).startswith(str(home)) and Path(data_dir).name.startswith("postgres-"):
                shutil.rmtree(data_dir, ignore_errors=True)


def admin_token(stack) -> str:
    return stack.settings.admin_token_file.read_text().strip()


def log_tail(stack, name: str, n: int = 30) -> str:
    record = stack.process(name) or {}
    try:
        return "\n".join(Path(record["log"]).read_text(errors="replace").splitlines()[-n:])
    except (OSError, KeyError):
        return ""


def ts(timestamp) -> float | None:
    """A protobuf Timestamp as Unix seconds; None when unset."""
    if timestamp is None or (timestamp.seconds == 0 and timestamp.nanos == 0):
        return None
    return timestamp.seconds + timestamp.nanos / 1e9
