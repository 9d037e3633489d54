"""`terrafake`: the command line for the whole platform.

Exit codes: 0 success; 1 the server refused the request or a watched job did
not succeed; 2 bad usage; 3 the server could not be reached; 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys

import grpc

from shared.cli import output
from shared.client import ClientError, connect
from shared.config import Settings
from terrafake.jobs.v1 import job_pb2, jobs_service_pb2

from shared.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, CliError


# --- stack ------------------------------------------------------------------------------


def cmd_stack_up(args, settings) -> int:
    from shared.stack.manager import Stack

    queues = tuple(q for q in args.queues.split(",") if q)
    status = Stack(settings).up(queues=queues)
    if args.json:
        output.emit_json(status)
    else:
        _print_status(status)
        print(f"\nready: gRPC on {status['grpc_address']}; web console on {status['web_url']}; "
              f"admin token in {status['admin_token_file']}")
    return EXIT_OK


def cmd_stack_down(args, settings) -> int:
    from shared.stack.manager import Stack

    stopped = Stack(settings).down()
    if args.json:
        output.emit_json({"stopped": stopped})
    else:
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return EXIT_OK


def cmd_stack_status(args, settings) -> int:
    from shared.stack.manager import Stack

    status = Stack(settings).status()
    if args.json:
        output.emit_json(status)
    else:
        _print_status(status)
    comps = status["components"]
    return EXIT_OK if comps and all(c["running"] is not False for c in comps.values()) else EXIT_FAILED


def _print_status(status: dict) -> None:
    rows = []
    for name, c in status["components"].items():
        if c["running"] is None:
            state = "external"
        else:
            # supervisord's state when not plainly running: STARTING, BACKOFF (retrying), FATAL (gave up).
            state = "running" if c["running"] else c.get("state", "stopped").lower()
        if c.get("serving"):
            state += ", serving"
        if c.get("url"):
            detail = c["url"]
        elif name == "grpc" and c.get("running"):
            detail = status["grpc_address"]
        else:
            detail = f"port {c['port']}" if c.get("port") else (f"pid {c['pid']}" if c.get("pid") else "")
        restarts = str(c.get("restarts", "")) if c["running"] is not None else ""
        rows.append([name, state, detail, restarts, c.get("last_exit") or "", c.get("log") or ""])
    print(f"state folder: {status['home']}")
    supervisor = status.get("supervisor")
    if supervisor:
        print(f"supervisord: {'running' if supervisor['running'] else 'not running'} ({supervisor['config']})")
    print(output.table(rows, ["component", "state", "detail", "restarts", "last exit", "log"]))
    metrics = [(name, c["metrics"]) for name, c in status["components"].items() if c.get("metrics")]
    if metrics:
        print("metrics: " + ", ".join(f"{name} {url}" for name, url in metrics))


# --- tokens (direct database access, on the server host) ---------------------------------


def _token_store(settings):
    from shared.auth import TokenStore
    from shared.db import Database
    from shared.stack.manager import Stack

    url = Stack(settings).database_url
    if not url:
        raise CliError("no database: set DATABASE_URL or run `terrafake stack up` first", EXIT_UNREACHABLE)
    return TokenStore(Database(url, max_size=1), cache_seconds=0)


def cmd_token_create(args, settings) -> int:
    token, principal = _token_store(settings).create(args.name, args.role)
    if args.json:
        output.emit_json({"id": principal.token_id, "name": principal.name, "role": principal.role, "token": token})
    else:
        print(f"created {principal.role} token {principal.token_id} ({principal.name}); shown once:\n{token}")
    return EXIT_OK


def cmd_token_list(args, settings) -> int:
    rows = _token_store(settings).list()
    if args.json:
        output.emit_json(rows)
    else:
        print(output.table(
            [[str(r["id"]), r["name"], r["role"], "revoked" if r["revoked_at"] else "active", str(r["last_used_at"] or "")]
             for r in rows],
            ["id", "name", "role", "status", "last used"],
        ))  # fmt: skip
    return EXIT_OK


def cmd_token_revoke(args, settings) -> int:
    _token_store(settings).revoke(args.token_id)
    print(f"revoked {args.token_id}")
    return EXIT_OK


# --- jobs ---------------------------------------------------------------------------------


def _client(args, settings):
    # A few seconds of retries ride through a server restart; longer and `terrafake` with no stack running
    # would sit silent before saying so.
    client = connect(args.address, args.token, settings=settings, retry_seconds=10)
    from shared.cli.names import resolve

    try:
        resolve(args, client)  # names where ids are expected: datasets, dataset@N, model@N, model:production
    except BaseException:
        client.close()
        raise
    return client


def watch(client, job_id: str, *, as_json: bool) -> int:
    """Follow a job to its end with a progress bar (or JSON lines)."""
    bar = None if as_json else output.ProgressBar()
    final = None
    try:
        for event in client.watch_job(job_id):
            if as_json:
                print(output.json.dumps(output.to_dict(event), sort_keys=True), flush=True)
            else:
                type_name = jobs_service_pb2.JobEventType.Name(event.type).removeprefix("JOB_EVENT_TYPE_")
                if type_name in ("REQUEUED", "RETRYING", "CANCEL_REQUESTED"):
                    bar.note(f"{type_name.lower()}: {event.message}")
                bar.update(
                    event.progress.fraction,
                    output.state_name(event.state),
                    event.progress.message or event.message,
                    event.progress.eta_seconds,
                )
            if event.HasField("job"):
                final = event.job
    finally:
        if bar:
            bar.close()
    final = final or client.get_job(job_id)
    if not as_json:
        print(output.job_summary(final))
    return EXIT_OK if final.state == job_pb2.JOB_STATE_SUCCEEDED else EXIT_FAILED


def _state_value(name: str) -> int:
    try:
        return job_pb2.JobState.Value("JOB_STATE_" + name.upper())
    except ValueError:
        raise CliError(f"unknown state {name!r}; use queued, running, succeeded, failed or cancelled", EXIT_USAGE)


def cmd_jobs_list(args, settings) -> int:
    with _client(args, settings) as client:
        resp = client.list_jobs(
            kinds=args.kind or (), states=[_state_value(s) for s in args.state or ()],
            page_size=args.page_size, page_token=args.page_token,
        )  # fmt: skip
    if args.json:
        output.emit_json(resp)
        return EXIT_OK
    rows = [
        [j.id, j.kind, output.state_name(j.state), f"{j.progress.fraction * 100:.0f}%",
         j.created_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")]
        for j in resp.jobs
    ]  # fmt: skip
    print(output.table(rows, ["id", "kind", "state", "progress", "created (UTC)"]))
    print(f"{len(resp.jobs)} of {resp.page.total_size} jobs", end="")
    print(f"; next page: --page-token {resp.page.next_page_token}" if resp.page.next_page_token else "")
    return EXIT_OK


def cmd_jobs_get(args, settings) -> int:
    with _client(args, settings) as client:
        job = client.get_job(args.job_id)
    output.emit_json(job) if args.json else print(output.job_summary(job))
    return EXIT_OK


def cmd_jobs_watch(args, settings) -> int:
    with _client(args, settings) as client:
        return watch(client, args.job_id, as_json=args.json)


def cmd_jobs_cancel(args, settings) -> int:
    with _client(args, settings) as client:
        job = client.cancel_job(args.job_id, args.reason)
    output.emit_json(job) if args.json else print(output.job_summary(job))
    return EXIT_OK


def cmd_jobs_diagnostic(args, settings) -> int:
    with _client(args, settings) as client:
        job = client.start_diagnostic_job(
            seconds=args.seconds, steps=args.steps, queue=args.queue, fail_at_step=args.fail_at_step,
            transient_failures=args.transient_failures, max_attempts=args.max_attempts,
            idempotency_key=args.idempotency_key,
        )  # fmt: skip
        if not args.watch:
            output.emit_json(job) if args.json else print(output.job_summary(job))
            return EXIT_OK
        if not args.json:
            print(f"started job {job.id} on queue {job.queue}", file=sys.stderr)
        return watch(client, job.id, as_json=args.json)


# --- datasets and ingestion -----------------------------------------------------------------


def cmd_datasets(args, settings) -> int:
    from shared.cli import data

    with _client(args, settings) as client:
        return data.cmd_datasets(args, client)


def cmd_ingest(args, settings) -> int:
    from shared.cli import data

    with _client(args, settings) as client:
        if args.action == "report":
            data.print_report(client, args.job_id, args.json)
            return EXIT_OK
        job = data.cmd_ingest(args, client)
        if not args.watch:
            output.emit_json(job) if args.json else print(output.job_summary(job))
            return EXIT_OK
        if not args.json:
            print(f"started job {job.id}", file=sys.stderr)
        code = watch(client, job.id, as_json=args.json)
        if not args.json:
            data.print_report(client, job.id, False)
        return code


# --- models, generation, detection ------------------------------------------------------------


def _with_client(fn):
    def run(args, settings) -> int:
        with _client(args, settings) as client:
            return fn(args, client)

    return run


def _watched(start, after=None):
    """A command that starts a job, then (unless --no-watch) follows it and prints what it made."""

    def run(args, settings) -> int:
        with _client(args, settings) as client:
            job = start(args, client)
            if not getattr(args, "watch", True):
                output.emit_json(job) if args.json else print(output.job_summary(job))
                return EXIT_OK
            if not args.json:
                print(f"started job {job.id}", file=sys.stderr)
            code = watch(client, job.id, as_json=args.json)
            if code == EXIT_OK and after is not None:
                after(client, client.get_job(job.id), args)
            return code

    return run


def _cmd_models(args, settings) -> int:
    from shared.cli import models

    if args.action == "export":
        return _watched(models.cmd_models)(args, settings)
    return _with_client(models.cmd_models)(args, settings)


def _after_evaluation(client, job, args) -> None:
    from shared.cli import models

    models.print_evaluation(client, job.result["evaluation_id"], args.json)


# --- demo -----------------------------------------------------------------------------------


def cmd_demo(args, settings) -> int:
    from shared.cli.demo import run_demo

    return run_demo(args, settings)


# --- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="terrafake", description="Synthetic aerial imagery: make it, and catch it.")
    parser.add_argument("--address", help="gRPC address host:port (default: the local stack's, or TERRAFAKE_GRPC_ADDRESS)")
    parser.add_argument("--token", help="bearer token (default: TERRAFAKE_TOKEN, or the local stack's admin token)")
    parser.add_argument("--json", action="store_true", help="machine-readable JSON output")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    stack = sub.add_parser("stack", help="run the platform locally").add_subparsers(dest="action", required=True)
    up = stack.add_parser("up", help="start Postgres, Redis, the gRPC server and workers")
    up.add_argument("--queues", default="cpu,gpu", help="worker queues to start (default cpu,gpu)")
    up.set_defaults(func=cmd_stack_up)
    stack.add_parser("down", help="stop what `stack up` started").set_defaults(func=cmd_stack_down)
    stack.add_parser("status", help="show what is running").set_defaults(func=cmd_stack_status)

    token = sub.add_parser("token", help="manage API tokens (on the server host)").add_subparsers(
        dest="action", required=True
    )
    tc = token.add_parser("create", help="create a token; it is printed once")
    tc.add_argument("name")
    tc.add_argument("--role", choices=["read", "write", "admin"], default="read")
    tc.set_defaults(func=cmd_token_create)
    token.add_parser("list", help="list tokens").set_defaults(func=cmd_token_list)
    tr = token.add_parser("revoke", help="revoke a token by id")
    tr.add_argument("token_id")
    tr.set_defaults(func=cmd_token_revoke)

    jobs = sub.add_parser("jobs", help="follow and manage jobs").add_subparsers(dest="action", required=True)
    jl = jobs.add_parser("list", help="list jobs, newest first")
    jl.add_argument("--kind", action="append", help="only this kind (repeatable)")
    jl.add_argument("--state", action="append", help="only this state (repeatable)")
    jl.add_argument("--page-size", type=int, default=20)
    jl.add_argument("--page-token", default="")
    jl.set_defaults(func=cmd_jobs_list)
    for name, func, text in [
        ("get", cmd_jobs_get, "show one job"),
        ("watch", cmd_jobs_watch, "follow a job to its end with a progress bar"),
    ]:
        p = jobs.add_parser(name, help=text)
        p.add_argument("job_id")
        p.set_defaults(func=func)
    jc = jobs.add_parser("cancel", help="cancel a job")
    jc.add_argument("job_id")
    jc.add_argument("--reason", default="")
    jc.set_defaults(func=cmd_jobs_cancel)
    jd = jobs.add_parser("diagnostic", help="run the diagnostic sleep job on a queue")
    jd.add_argument("--seconds", type=float, default=5.0)
    jd.add_argument("--steps", type=int, default=20)
    jd.add_argument("--queue", default="cpu", choices=["cpu", "gpu"])
    jd.add_argument("--fail-at-step", type=int, default=0)
    jd.add_argument("--transient-failures", type=int, default=0)
    jd.add_argument("--max-attempts", type=int, default=0)
    jd.add_argument("--idempotency-key", default="")
    jd.add_argument("--no-watch", dest="watch", action="store_false", help="return once the job is queued")
    jd.set_defaults(func=cmd_jobs_diagnostic)

    from shared.cli import data

    data.add_parsers(sub, cmd_datasets, cmd_ingest)
    from shared.cli import models

    models.add_parsers(sub, {
        "train": _watched(models.start_training),
        "models": _cmd_models,
        "evaluate": _watched(models.start_evaluation, _after_evaluation),
        "zoo": _watched(models.start_zoo),
        "generate": _with_client(models.cmd_generate),
        "detect": _with_client(models.cmd_detect),
        "colorize": _with_client(models.cmd_colorize),
    })  # fmt: skip

    from shared.cli import drift

    drift.add_parser(sub, _watched(drift.start, drift.after), _with_client(drift.show))

    demo = sub.add_parser("demo", help="start the local stack and run the end-to-end demo")
    demo.add_argument("--keep-running", action="store_true", help="leave the stack running afterwards")
    demo.add_argument("--preset", choices=["cpu", "gpu", "smoke"], default="cpu",
                      help="cpu: under 15 min on 2 cores (default); gpu: larger models for a CUDA node; "
                           "smoke: the smallest end-to-end run")
    demo.add_argument("--seed", type=int, default=None,
                      help="seed of the split (which scenes are held out), training and sampling (default: 0)")
    demo.set_defaults(func=cmd_demo)
    return parser


def main_error(err: ClientError) -> int:
    code = EXIT_UNREACHABLE if err.code == grpc.StatusCode.UNAVAILABLE else EXIT_FAILED
    hint = ""
    if code == EXIT_UNREACHABLE:
        hint = "\nis the stack running? start it with `terrafake stack up`, or pass --address"
    rid = f" (request id {err.request_id})" if err.request_id else ""
    print(f"error: {err.code.name}: {err.message}{rid}{hint}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose or args.command in ("stack", "demo") else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = Settings.from_env()
        return args.func(args, settings)
    except ClientError as err:
        return main_error(err)
    except grpc.RpcError as err:  # from a streaming call iterated outside Client.call
        from shared.client.client import _wrap

        return main_error(_wrap(err))
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:
        from shared.errors import TerrafakeError

        if isinstance(err, TerrafakeError):
            print(f"error: {err.code}: {err.message}", file=sys.stderr)
            return EXIT_UNREACHABLE if err.code == "UNAVAILABLE" else EXIT_FAILED
        if type(err).__name__ == "StackError" or isinstance(err, (ValueError, OSError)):
            print(f"error: {err}", file=sys.stderr)
            return EXIT_FAILED
        raise


if __name__ == "__main__":
    sys.exit(main())
