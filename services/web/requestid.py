"""Request ids for the console: each HTTP request gets one (the caller's X-Request-ID when it is a sane
one, else a new one), bound in the log context while it is served and returned in X-Request-ID.

The gRPC client (shared.client) sends the bound id as the x-request-id of every call it makes for the
page, so one id follows a click from the console's log through the gRPC server's to any job it starts.
A plain ASGI middleware: the id is set in the task that runs the app, so uvicorn's access-log line,
written while the response starts, carries it as well.
"""

from __future__ import annotations

from shared.logs import REQUEST_ID_HEADER, accept_request_id, log_context

_HEADER = REQUEST_ID_HEADER.encode()


class RequestId:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        sent = next((v for k, v in scope.get("headers", ()) if k.lower() == _HEADER), b"")
        rid = accept_request_id(sent.decode("latin-1"))

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != _HEADER]
                message = {**message, "headers": [*headers, (_HEADER, rid.encode())]}
            await send(message)

        with log_context(request_id=rid):
            await self.app(scope, receive, send_with_id)
