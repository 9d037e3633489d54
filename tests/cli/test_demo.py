"""`terrafake demo` as a user runs it: its own stack, every stage, and the report it writes."""

import os
import re
import signal
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from shared.client import connect
from shared.config import Settings
from shared.stack.manager import Stack
from shared.stack.procs import free_port
from terrafake.jobs.v1 import job_pb2
from tests.conftest import make_home, wait_for

pytestmark = pytest.mark.stack  # each test starts stacks of its own


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.imgs, self.svgs = set(), [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "img":
            self.imgs.append(attrs.get("src", ""))
        if tag == "svg":
            self.svgs += 1


# The demo runs in a child process with its own 900 s limit; pytest-timeout's default of 300 s would
# fail the test while the child, and the stack it started, ran on (a loaded machine needs more than 300).
@pytest.mark.timeout(900)
def test_smoke_demo_end_to_end(tmp_path):
    home = make_home("terrafake-demo-")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TERRAFAKE_TRITON_URL")}
    env.update(TERRAFAKE_HOME=str(home), TERRAFAKE_GRPC_ADDRESS=f"127.0.0.1:{free_port()}")
    out = subprocess.run(
        [sys.executable, "-m", "shared.cli.main", "demo", "--preset", "smoke", "--seed", "3"],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    for stage in (
        "ingest real tiles through the XYZ path", "train the DDPM generator", "generate fakes into the dataset",
        "build the generator zoo", "train the detector", "evaluate on held-out scenes", "train and evaluate the colorizer",
        "serve through Triton", "write the report",
    ):  # fmt: skip
        assert f"== {stage}" in out.stdout and stage in out.stdout.split("stage timings:")[1]
    assert "100.0%  SUCCEEDED" in out.stderr  # progress bars were shown
    # The generator is scored against its training years (the targets) and the held-out years,
    # where its own training tiles are scored too.
    assert re.search(r"generator SWD against its training years \d\.\d+ \(floor", out.stdout)
    assert re.search(r"against the held-out years \d\.\d+ \(floor \d\.\d+, its training tiles \d", out.stdout)
    # Issue #4's five, and issue #15's calibration, uncertain-fraction, robustness and leave-one-out targets.
    assert re.search(r"quality targets met: \d+ of 13\n", out.stdout)
    # Every zoo family and the DDPM's samples are scored on their own.
    for family in ("autoencoder", "ddpm", "diffusion", "gan", "interpolation", "upsampler"):
        assert re.search(rf"     {family}: \d+ fakes, ROC-AUC \d\.\d+", out.stdout), family
        # and by a detector trained without it
        assert re.search(rf"     trained without {family}: ROC-AUC \d\.\d+ on it", out.stdout), family
    report = re.search(r"report: (\S+)", out.stdout).group(1)
    html = open(report, encoding="utf-8").read()
    page = _Collect()
    page.feed(html)
    assert page.svgs >= 3  # loss curves, ROC, timings
    assert len(page.imgs) >= 20 and all(src.startswith("data:image/png;base64,") for src in page.imgs)
    assert "USDA" in html  # imagery attribution is shown
    settings = html.split('class="kv settings"', 1)[1].split("</table>", 1)[0]
    assert re.search(r">seed</t[hd]>\s*<td[^>]*>3</td>", settings), settings[:2000]  # --seed reached the run
    # The stack it started is stopped again.
    status = subprocess.run([sys.executable, "-m", "shared.cli.main", "stack", "status"], capture_output=True,
                            text=True, env=env, timeout=60)  # fmt: skip
    assert "running" not in status.stdout.replace("not running", "")


def test_ctrl_c_cancels_the_running_job_so_the_next_start_resumes_nothing():
    # Before, a job left queued or running by an interrupted demo was resumed by the next stack
    # start in the same home, where it competed with the new run.
    home = make_home("terrafake-demo-int-")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TERRAFAKE_TRITON_URL")}
    env.update(TERRAFAKE_HOME=str(home), TERRAFAKE_GRPC_ADDRESS=f"127.0.0.1:{free_port()}", PYTHONUNBUFFERED="1")
    # Ctrl-C's default action, as in a terminal: started in the background by a shell (`make test &`),
    # the tests inherit SIGINT ignored, and so would the demo, which then rightly runs on.
    demo = subprocess.Popen([sys.executable, "-m", "shared.cli.main", "demo", "--preset", "smoke"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    try:
        lines, stage = [], False
        for line in demo.stdout:  # until the generator's training job reports that it runs
            lines.append(line)
            stage = stage or "== train the DDPM generator" in line
            if stage and "RUNNING" in line:
                break
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=180)
    finally:
        if demo.poll() is None:
            demo.kill()
    out = "".join(lines) + rest
    assert demo.returncode == 130, out[-3000:]
    cancelled = re.search(r"interrupted: cancelled training\.generator job (\S+)", out)
    assert cancelled, out[-3000:]
    assert "== stop the local stack" in out
    # The stack in that home, started again: the job is CANCELLED and nothing is left to run.
    settings = Settings.from_env({**env, "TERRAFAKE_HOME": str(home)})
    stack = Stack(settings)
    status = stack.up()
    try:
        with connect(status["grpc_address"], settings=settings) as client:
            wait_for(lambda: client.get_job(cancelled.group(1)).state == job_pb2.JOB_STATE_CANCELLED, timeout=90,
                     what="the interrupted job to be cancelled")  # fmt: skip
            open_states = [job_pb2.JOB_STATE_QUEUED, job_pb2.JOB_STATE_RUNNING]
            assert list(client.list_jobs(states=open_states, page_size=100).jobs) == []
    finally:
        stack.down()
