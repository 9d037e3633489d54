"""`python -m services.web`: the console on TERRAFAKE_WEB_PORT (default 8080), talking to the gRPC
address the rest of the platform uses (TERRAFAKE_GRPC_ADDRESS, or the local stack's)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import uvicorn

from services.web.app import create_app
from shared.config import Settings
from shared.logs import setup_logging


def main(argv=None) -> int:
    settings = Settings.from_env()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default=settings.web_host)
    p.add_argument("--port", type=int, default=settings.web_port)
    p.add_argument("--grpc-address", default=settings.grpc_address)
    p.add_argument("--secure-cookies", action="store_true", help="behind TLS: cookies only over HTTPS")
    p.add_argument("--quiz-token-file", default=os.environ.get("TERRAFAKE_WEB_QUIZ_TOKEN_FILE", ""),
                   help="a file holding the read token the public quiz is played with (no file: no quiz)")
    p.add_argument("--quiz-dataset", default=os.environ.get("TERRAFAKE_QUIZ_DATASET", ""),
                   help="dataset the quiz draws from, NAME or NAME@VERSION (default: the newest demo-aerial-*)")
    p.add_argument("--quiz-rounds", type=int, default=5)
    p.add_argument("--quiz-rate", type=float, default=float(os.environ.get("TERRAFAKE_WEB_QUIZ_RATE", 2.0)),
                   help="quiz requests per second allowed per client address (bursts of 15 times that)")
    args = p.parse_args(argv)
    quiz_token = Path(args.quiz_token_file).read_text().strip() if args.quiz_token_file else None
    setup_logging(settings.log_format)
    app = create_app(args.grpc_address, secure_cookies=args.secure_cookies,
                     max_upload_bytes=settings.web_max_upload_bytes, quiz_token=quiz_token,
                     quiz_dataset=args.quiz_dataset, quiz_rounds=args.quiz_rounds,
                     quiz_rate_per_s=args.quiz_rate)  # fmt: skip
    # log_config=None: uvicorn's lines (access log included) go through the root handler set up above.
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", proxy_headers=False, log_config=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
