"""Run the tritonserver binary that ships with nvidia-pytriton as a local subprocess.

The wheel carries a real Triton (2.51) with only the python backend. Running it
outside pytriton needs what pytriton's own launcher arranges, plus two fixes
for this machine:

- The python backend expects its stub beside `libtriton_python.so`; the wheel
  keeps one stub per Python version elsewhere. We assemble a backend directory
  (in a private work dir) with the stub of the running interpreter's version.
- The stub links `libpython3.11.so` by name; from the system lib dir it is
  3.11.2, whose C code breaks against this interpreter's 3.11.7 stdlib
  ("'_thread.RLock' object has no attribute '_recursion_count'"). LD_LIBRARY_PATH
  starts with the running interpreter's own LIBDIR so the stub loads the
  matching libpython.
- The stub's embedded interpreter ignores PYTHONPATH (measured: it is in its
  environment but not on sys.path) and locates its installation by finding
  "python3" on PATH. With the running interpreter's bin dir first on PATH it
  starts as this venv: its site-packages (numpy, torch, onnxruntime) and the
  editable install of terrafake (`shared`) are importable from model.py.

All endpoints bind 127.0.0.1 on free ports; models load only on request
(`--model-control-mode=explicit`); `--strict-readiness` makes "ready" mean
that every loaded model is ready too.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from shared.errors import Unavailable

DEFAULT_START_TIMEOUT_S = 60.0
DEFAULT_STOP_TIMEOUT_S = 20.0
# Shared-memory sizes of the python backend's request/response exchange. The
# default 1 MiB region would grow on the first U-Net batch; 16 MiB avoids that.
SHM_DEFAULT_BYTES = 16 * 1024 * 1024
SHM_GROWTH_BYTES = 4 * 1024 * 1024


def _pytriton_dirs() -> tuple[Path, Path]:
    """The tritonserver distribution inside the pytriton wheel, and the wheel's bundled shared libraries."""
    try:
        import pytriton
    except ImportError as error:  # a clear message beats a missing-binary error later
        raise Unavailable("nvidia-pytriton is not installed; it provides the local tritonserver binary") from error
    root = Path(pytriton.__file__).parent
    return root / "tritonserver", root.parent / "nvidia_pytriton.libs"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TritonServer:
    """One tritonserver process over `model_repository` (a local folder or an `s3://` location); use as a
    context manager or call start()/stop().

    `grpc_url` ("127.0.0.1:<port>") is what `TritonClient` connects to;
    `startup_seconds` is how long the last `start()` took until ready.
    """

    def __init__(
        self,
        model_repository: str | os.PathLike,
        *,
        work_dir: str | os.PathLike | None = None,
        log_verbose: int = 0,
        extra_args: list[str] | None = None,
    ):
        if str(model_repository).startswith("s3://"):
            # Triton's own syntax (s3://[https://]host:port/bucket/path for a non-AWS endpoint); Triton reads the
            # AWS_* credentials from its environment.
            self.model_repository: Path | str = str(model_repository)
        else:
            self.model_repository = Path(model_repository).resolve()
            if not self.model_repository.is_dir():
                raise FileNotFoundError(f"model repository {self.model_repository} does not exist")
        self._own_work_dir = work_dir is None
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="tritonserver-"))
        self.log_path = self.work_dir / "tritonserver.log"
        self.log_verbose = log_verbose
        self.extra_args = list(extra_args or [])
        self.process: subprocess.Popen | None = None
        self.grpc_port = self.http_port = self.metrics_port = 0
        self.startup_seconds: float | None = None

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _backend_dir(self, dist: Path) -> Path:
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        stub = dist / "python_backend_stubs" / version / "triton_python_backend_stub"
        if not stub.is_file():
            raise Unavailable(f"pytriton has no python backend stub for Python {version}")
        backends = self.work_dir / "backends"
        python_backend = backends / "python"
        if not python_backend.is_dir():
            shutil.copytree(dist / "backends" / "python", python_backend, ignore=shutil.ignore_patterns("__pycache__"))
            shutil.copy2(stub, python_backend / "triton_python_backend_stub")
        return backends

    def _environment(self, libs: Path) -> dict[str, str]:
        env = dict(os.environ)
        own_libpython = sysconfig.get_config_var("LIBDIR")
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (own_libpython, str(libs), env.get("LD_LIBRARY_PATH", "")) if p
        )
        # The stub's embedded interpreter ignores PYTHONPATH; it finds its installation by
        # looking up "python3" on PATH, so this interpreter's bin dir first makes it this venv.
        env["PATH"] = os.pathsep.join(p for p in (str(Path(sys.executable).parent), env.get("PATH", "")) if p)
        return env

    def _command(self, dist: Path, backends: Path) -> list[str]:
        # A prefix unique to this server: two servers on one machine must not share regions.
        shm_prefix = f"terrafake-{os.getpid()}-{self.grpc_port}"
        return [
            str(dist / "bin" / "tritonserver"),
            f"--model-repository={self.model_repository}",
            "--model-control-mode=explicit",
            "--strict-readiness=true",
            "--exit-on-error=true",
            f"--backend-directory={backends}",
            f"--cache-directory={dist / 'caches'}",
            f"--backend-config=python,shm-region-prefix-name={shm_prefix}",
            f"--backend-config=python,shm-default-byte-size={SHM_DEFAULT_BYTES}",
            f"--backend-config=python,shm-growth-byte-size={SHM_GROWTH_BYTES}",
            "--grpc-address=127.0.0.1",
            f"--grpc-port={self.grpc_port}",
            "--http-address=127.0.0.1",
            f"--http-port={self.http_port}",
            "--allow-metrics=true",
            "--allow-gpu-metrics=false",
            "--metrics-address=127.0.0.1",
            f"--metrics-port={self.metrics_port}",
            f"--log-verbose={self.log_verbose}",
            f"--log-file={self.log_path}",
            f"--exit-timeout-secs={int(DEFAULT_STOP_TIMEOUT_S // 2)}",
            *self.extra_args,
        ]

    def launch_spec(self, grpc_port: int, http_port: int, metrics_port: int) -> tuple[list[str], dict[str, str]]:
        """(command, environment) to run this server detached, e.g. from the local stack."""
        dist, libs = _pytriton_dirs()
        backends = self._backend_dir(dist)
        self.grpc_port, self.http_port, self.metrics_port = grpc_port, http_port, metrics_port
        return self._command(dist, backends), self._environment(libs)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def start(self, timeout_s: float = DEFAULT_START_TIMEOUT_S) -> "TritonServer":
        """Start the server and wait until it answers "ready" over gRPC; Unavailable on failure or timeout."""
        import tritonclient.grpc as grpcclient

        if self.running:
            return self
        dist, libs = _pytriton_dirs()
        backends = self._backend_dir(dist)
        self.grpc_port, self.http_port, self.metrics_port = _free_port(), _free_port(), _free_port()
        started = time.monotonic()
        with open(self.work_dir / "tritonserver.stdout", "ab") as console:
            self.process = subprocess.Popen(
                self._command(dist, backends),
                env=self._environment(libs),
                stdout=console,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Own process group: stop() can signal the server and its python stubs together.
                start_new_session=True,
            )
        client = grpcclient.InferenceServerClient(self.grpc_url)
        try:
            while time.monotonic() - started < timeout_s:
                if self.process.poll() is not None:
                    raise Unavailable(
                        f"tritonserver exited with code {self.process.returncode} during start; log:\n{self.log_tail()}"
                    )
                try:
                    if client.is_server_ready(client_timeout=1.0):
                        self.startup_seconds = time.monotonic() - started
                        return self
                except Exception:  # not listening yet
                    pass
                time.sleep(0.05)
        finally:
            client.close()
        self.stop()
        raise Unavailable(f"tritonserver not ready after {timeout_s:.0f} s; log:\n{self.log_tail()}")

    def stop(self, timeout_s: float = DEFAULT_STOP_TIMEOUT_S) -> None:
        """SIGTERM (Triton unloads models and exits), SIGKILL to the whole group if it hangs."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                pass
        # The python backend's stub processes are in the server's group; none may outlive it.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()

    def close(self) -> None:
        """Stop, and remove the work dir when this object created it."""
        self.stop()
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> "TritonServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
