"""`python -m services.web`: the console on TERRAFAKE_WEB_PORT (default 8080), talking to the gRPC
address the rest of the platform uses (TERRAFAKE_GRPC_ADDRESS, or the local stack's)."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from services.web.app import create_app
from shared.config import Settings


def main(argv=None) -> int:
    settings = Settings.from_env()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default=settings.web_host)
    p.add_argument("--port", type=int, default=settings.web_port)
    p.add_argument("--grpc-address", default=settings.grpc_address)
    p.add_argument("--secure-cookies", action="store_true", help="behind TLS: cookies only over HTTPS")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(args.grpc_address, secure_cookies=args.secure_cookies,
                     max_upload_bytes=settings.web_max_upload_bytes)  # fmt: skip
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", proxy_headers=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
