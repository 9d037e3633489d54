"""The one server interceptor: request ids, bearer-token auth, error mapping, one log line per call.

Every call gets a request id: the caller's `x-request-id` metadata when it is a sane one
(shared.logs.accept_request_id), else a new one. It is sent back in the initial metadata (and in
the trailers of a failed call), and bound in the log context for the call, so every line logged
while serving it carries it.

Domain errors from shared.errors become their gRPC status with the message
as written; anything unexpected becomes INTERNAL with the request id, and its
traceback is logged here, never sent to the client.
"""

from __future__ import annotations

import contextvars
import logging
import time

import grpc

from services import access
from shared.auth import Principal, TokenStore
from shared.errors import TerrafakeError, Unauthenticated, Unavailable
from shared.logs import REQUEST_ID_HEADER, accept_request_id, log_context

log = logging.getLogger("terrafake.rpc")

current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)

STATUS_CODES = {  # domain error code -> gRPC status
    "INVALID_ARGUMENT": grpc.StatusCode.INVALID_ARGUMENT,
    "NOT_FOUND": grpc.StatusCode.NOT_FOUND,
    "ALREADY_EXISTS": grpc.StatusCode.ALREADY_EXISTS,
    "FAILED_PRECONDITION": grpc.StatusCode.FAILED_PRECONDITION,
    "RESOURCE_EXHAUSTED": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "UNAVAILABLE": grpc.StatusCode.UNAVAILABLE,
    "UNAUTHENTICATED": grpc.StatusCode.UNAUTHENTICATED,
    "PERMISSION_DENIED": grpc.StatusCode.PERMISSION_DENIED,
    "INTERNAL": grpc.StatusCode.INTERNAL,
}


# Probes and tooling, called every few seconds: their calls are logged at DEBUG, not INFO.
_QUIET_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def _request_id(context) -> str:
    """The caller's x-request-id when acceptable, else a new one; sent back at once in the initial metadata."""
    sent = next((v for k, v in context.invocation_metadata() or () if k == REQUEST_ID_HEADER), None)
    rid = accept_request_id(sent)
    try:
        context.send_initial_metadata([(REQUEST_ID_HEADER, rid)])
    except ValueError:  # already sent (cannot happen before the handler runs, but never fail a call for it)
        pass
    return rid


def _bearer(context) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


class ServerInterceptor(grpc.ServerInterceptor):
    def __init__(self, tokens: TokenStore, role_table: dict[str, str]):
        self.tokens = tokens
        self.role_table = role_table

    def _authorize(self, method: str, context) -> Principal | None:
        if access.required_role(self.role_table, method) is None:
            return None
        token = _bearer(context)
        if token is None:
            raise Unauthenticated(
                "missing bearer token: send metadata 'authorization: Bearer <token>' "
                "(the local stack writes an admin token to $TERRAFAKE_HOME/admin.token)"
            )
        try:
            principal = self.tokens.verify(token)
        except Unavailable:
            raise
        if principal is None:
            raise Unauthenticated("the bearer token is not valid (unknown or revoked)")
        access.check(self.role_table, method, principal.role)
        return principal

    def _fail(self, context, method: str, rid: str, exc: BaseException) -> None:
        """Abort the call with the status that fits exc (raises)."""
        if isinstance(exc, TerrafakeError):
            metadata = [("x-request-id", rid)]
            message = exc.message
            if exc.retry_after_seconds is not None:
                metadata.append(("retry-after-seconds", f"{exc.retry_after_seconds:g}"))
                message += f" (retry in {exc.retry_after_seconds:g}s)"
            context.set_trailing_metadata(metadata)
            log.info("%s -> %s: %s [request %s]", method, exc.code, exc.message, rid)
            context.abort(STATUS_CODES.get(exc.code, grpc.StatusCode.INTERNAL), message)
        if isinstance(exc, NotImplementedError):
            context.set_trailing_metadata([("x-request-id", rid)])
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented in this version of terrafake")
        log.error("%s failed [request %s]", method, rid, exc_info=exc)
        context.set_trailing_metadata([("x-request-id", rid)])
        context.abort(grpc.StatusCode.INTERNAL, f"internal error; quote request id {rid} when reporting it")

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        interceptor = self

        def already_aborted(context) -> bool:
            code = context.code() if hasattr(context, "code") else None
            return code is not None and code != grpc.StatusCode.OK

        def wrap_unary(behavior):
            def call(request, context):
                rid = _request_id(context)
                token = None
                started, code = time.perf_counter(), "OK"
                with log_context(request_id=rid):
                    try:
                        token = current_principal.set(interceptor._authorize(method, context))
                        return behavior(request, context)
                    except Exception as exc:
                        code = _status_name(exc, context)
                        if already_aborted(context) and not isinstance(exc, NotImplementedError):
                            raise
                        interceptor._fail(context, method, rid, exc)
                    finally:
                        if token is not None:
                            current_principal.reset(token)
                        _observe(method, code, started)

            return call

        def wrap_stream(behavior):
            def call(request, context):
                rid = _request_id(context)
                started, code = time.perf_counter(), "OK"
                with log_context(request_id=rid):
                    try:
                        current_principal.set(interceptor._authorize(method, context))
                        yield from behavior(request, context)
                    except Exception as exc:
                        code = _status_name(exc, context)
                        if already_aborted(context) and not isinstance(exc, NotImplementedError):
                            raise
                        interceptor._fail(context, method, rid, exc)
                    finally:
                        _observe(method, code, started)

            return call

        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                wrap_unary(handler.unary_unary), handler.request_deserializer, handler.response_serializer
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                wrap_unary(handler.stream_unary), handler.request_deserializer, handler.response_serializer
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                wrap_stream(handler.unary_stream), handler.request_deserializer, handler.response_serializer
            )
        return grpc.stream_stream_rpc_method_handler(
            wrap_stream(handler.stream_stream), handler.request_deserializer, handler.response_serializer
        )


def _status_name(exc: BaseException, context) -> str:
    """The status code a failed call ends with (for the metrics)."""
    if isinstance(exc, TerrafakeError):
        return STATUS_CODES.get(exc.code, grpc.StatusCode.INTERNAL).name
    if isinstance(exc, NotImplementedError):
        return "UNIMPLEMENTED"
    code = context.code() if hasattr(context, "code") else None
    return code.name if isinstance(code, grpc.StatusCode) else "INTERNAL"


def _observe(method: str, code: str, started: float) -> None:
    """The call's metrics and its one access-log line (which carries the request id from the context)."""
    from services.metrics import RPC_SECONDS, RPCS

    seconds = time.perf_counter() - started
    RPCS.labels(method, code).inc()
    RPC_SECONDS.labels(method).observe(seconds)
    level = logging.DEBUG if method.startswith(_QUIET_PREFIXES) else logging.INFO
    log.log(level, "%s %s %.1f ms", method, code, seconds * 1000,
            extra={"method": method, "code": code, "duration_ms": round(seconds * 1000, 3)})  # fmt: skip


def principal() -> Principal | None:
    return current_principal.get()
