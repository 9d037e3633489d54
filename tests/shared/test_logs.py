"""Log lines carry the request id and job id bound in the context, as JSON or text."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest

from shared.logs import accept_request_id, log_context, setup_logging


@pytest.fixture
def lines():
    """setup_logging into a buffer; yields a function returning the lines written so far."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffer = io.StringIO()

    def read():
        return buffer.getvalue().splitlines()

    read.buffer = buffer
    yield read
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def test_json_lines_carry_the_bound_ids_and_extras(lines):
    setup_logging("json", stream=lines.buffer)
    log = logging.getLogger("terrafake.test")
    log.info("outside")
    with log_context(request_id="req-1"):
        with log_context(job_id="job-9"):
            log.warning("inside %s", "both", extra={"method": "/x.Y/Z"})
        log.info("request only")
    records = [json.loads(line) for line in lines()]
    assert [r["message"] for r in records] == ["outside", "inside both", "request only"]
    assert (records[0]["request_id"], records[0]["job_id"]) == (None, None)
    assert (records[1]["request_id"], records[1]["job_id"], records[1]["method"]) == ("req-1", "job-9", "/x.Y/Z")
    assert records[1]["level"] == "WARNING" and records[1]["logger"] == "terrafake.test" and records[1]["time"]
    assert (records[2]["request_id"], records[2]["job_id"]) == ("req-1", None)


def test_a_traceback_stays_inside_its_json_line(lines):
    setup_logging("json", stream=lines.buffer)
    with log_context(request_id="req-2"):
        try:
            raise KeyError("detail")
        except KeyError:
            logging.getLogger("terrafake.test").exception("failed")
    (line,) = lines()
    record = json.loads(line)
    assert record["request_id"] == "req-2" and "KeyError: 'detail'" in record["exc_info"]


def test_text_lines_append_the_ids_when_bound(lines):
    setup_logging("text", stream=lines.buffer)
    log = logging.getLogger("terrafake.test")
    log.info("plain")
    with log_context(request_id="req-3", job_id="job-4"):
        log.info("tagged")
    plain, tagged = lines()
    assert plain.endswith("terrafake.test: plain")
    assert tagged.endswith("terrafake.test: tagged [request_id=req-3 job_id=job-4]")


def test_ids_do_not_leak_across_threads_or_after_the_block(lines):
    setup_logging("json", stream=lines.buffer)
    log = logging.getLogger("terrafake.test")
    with log_context(request_id="mine"):
        t = threading.Thread(target=log.info, args=("other thread",))
        t.start()
        t.join()
    log.info("after")
    records = [json.loads(line) for line in lines()]
    assert [r["request_id"] for r in records] == [None, None]


@pytest.mark.parametrize("good", ["abc", "0f" * 16, "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "trace:1.2_x"])
def test_sane_ids_are_kept(good):
    assert accept_request_id(good) == good


@pytest.mark.parametrize("bad", [None, "", "x" * 65, "has space", '{"level":"ERROR"}', "a/b", "é", "-leading"])
def test_other_ids_are_replaced_by_a_fresh_one(bad):
    fresh = accept_request_id(bad)
    assert fresh != bad and len(fresh) == 32 and int(fresh, 16) >= 0
    assert accept_request_id(bad) != fresh  # a new one each time


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="json"):
        setup_logging("yaml")
