"""`terrafake drift`: check a detector's recent detections for drift, or show its findings."""

from __future__ import annotations

import sys

from google.protobuf import timestamp_pb2

from shared.cli import output
from shared.cli.errors import UsageError
from shared.cli.names import is_uuid, model_version_id
from terrafake.detection.v1 import detection_service_pb2 as det_pb


def _target(client, ref: str) -> dict:
    """A model as people type it: a version id, NAME@N, NAME:STAGE, or NAME (its production version)."""
    if not ref:
        return {}
    if is_uuid(ref) or "@" in ref or ":" in ref:
        return {"model_version_id": model_version_id(client, ref)}
    return {"model_name": ref}


def start(args, client):
    if args.hours <= 0:
        raise UsageError("--hours must be positive")
    request = det_pb.CheckDriftRequest(
        window_seconds=int(round(args.hours * 3600)), min_detections=args.min_detections,
        thresholds=det_pb.DriftThresholds(psi=args.psi, ks_alpha=args.ks_alpha, ks_min=args.ks_min),
        **_target(client, args.model),
    )  # fmt: skip
    if args.until:
        request.window_end.CopyFrom(_timestamp(args.until))
    return client.call(client.detection.CheckDrift, request).job


def _timestamp(text: str) -> timestamp_pb2.Timestamp:
    from datetime import datetime, timezone

    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--until must be an ISO 8601 time such as 2025-06-01T12:00:00+00:00, got {text!r}") from None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(when if when.tzinfo else when.replace(tzinfo=timezone.utc))
    return ts


def print_finding(finding, as_json: bool) -> None:
    if as_json:
        output.emit_json(finding)
        return
    start = finding.window_start.ToDatetime().strftime("%Y-%m-%d %H:%M")
    end = finding.window_end.ToDatetime().strftime("%Y-%m-%d %H:%M")
    verdict = "DRIFTED" if finding.drifted else "no drift"
    print(f"{verdict}: {finding.num_detections} detections by {finding.model_version_id}, {start} .. {end} UTC, "
          f"against evaluation {finding.evaluation_id}")  # fmt: skip
    rows = [[s.name, "drifted" if s.drifted else "ok", f"{s.ks:.3f}", f"{s.ks_critical:.3f}", f"{s.psi:.3f}",
             f"{s.reference_mean:.4g}", f"{s.window_mean:.4g}"] for s in finding.statistics]  # fmt: skip
    print(output.table(rows, ["statistic", "verdict", "KS D", "KS critical", "PSI", "reference mean", "window mean"]))
    t = finding.thresholds
    print(f"drifted when KS D > critical (alpha {t.ks_alpha:g}) and D >= {t.ks_min:g}, or PSI >= {t.psi:g} "
          "on samples large enough for PSI")


def after(client, job, args) -> None:
    request = det_pb.GetDriftFindingRequest(finding_id=job.result["finding_id"])
    print_finding(client.call(client.detection.GetDriftFinding, request).finding, args.json)


def show(args, client) -> int:
    request = det_pb.ListDriftFindingsRequest(page={"page_size": args.limit}, **_target(client, args.model))
    findings = client.call(client.detection.ListDriftFindings, request).findings
    if args.json:
        output.emit_json([output.to_dict(f) for f in findings])
        return 0
    if not findings:
        print("no drift findings yet; `terrafake drift MODEL` runs a check", file=sys.stderr)
    for finding in findings:
        print_finding(finding, False)
        print()
    return 0


def add_parser(sub, check, show_findings) -> None:
    d = sub.add_parser("drift", help="check a detector's recent detections for drift against its evaluation (runs a job)")
    d.add_argument("model", nargs="?", default="",
                   help="model name (its production version), NAME@N, NAME:STAGE or a version id; "
                        "default: the newest production detector")  # fmt: skip
    d.add_argument("--hours", type=float, default=24.0, help="window length, ending now (default 24)")
    d.add_argument("--until", help="end of the window, ISO 8601 (default now)")
    d.add_argument("--min-detections", type=int, default=0, help="fewest detections to compare (default 100)")
    d.add_argument("--psi", type=float, default=0.0, help="PSI threshold (default 0.25)")
    d.add_argument("--ks-alpha", type=float, default=0.0, help="KS significance level (default 0.01)")
    d.add_argument("--ks-min", type=float, default=0.0, help="smallest KS D that counts (default 0.1)")
    d.add_argument("--show", action="store_true", help="show the newest findings instead of running a check")
    d.add_argument("--limit", type=int, default=1, help="with --show: how many findings (default 1)")
    d.add_argument("--no-watch", dest="watch", action="store_false", help="return once the job is queued")
    d.set_defaults(func=lambda args, settings: (show_findings if args.show else check)(args, settings))
