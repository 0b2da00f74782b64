"""The edge: what every request passes before routing, authentication or a dependency costs
anything. A pure ASGI middleware (no BaseHTTPMiddleware: it would buffer and copy):

- a request id: X-Request-ID taken from the request when it is sane, else made; echoed on the
  response and bound to the request's log lines;
- a body limit: a Content-Length over `max_body` is refused with 413 before a byte of the body
  is read; a body without a length (chunked) is counted as it streams and refused with 413 as
  soon as it passes the limit;
- a body deadline: a body still arriving `body_timeout` seconds after the request began is
  refused with 408 (uvicorn has none; the headers' deadline is api/server.py's);
- control characters: NUL and the other C0 controls (and DEL) are refused with 422 naming the
  field, in the path, the query, the headers and (JSON) bodies; a body may keep tab, newline
  and carriage return in its strings, which free text legitimately holds.

The body is buffered here (at most `max_body` bytes) and replayed to the application.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, unquote

from api.errors import PROBLEM, TYPE_BASE
from api.observability import CURRENT_SCOPE, REQUEST_ID, RequestLog

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class TooLarge(Exception):
    pass


class TooSlow(Exception):
    pass


def _problem(status: int, title: str, detail: str, kind: str,
             errors: list[dict[str, str]] | None = None,
             headers: list[tuple[bytes, bytes]] | None = None) -> tuple[int, bytes, list]:
    body = json.dumps({"type": TYPE_BASE + kind, "title": title, "status": status,
                       "detail": detail, "errors": errors or []}).encode()
    return status, body, [(b"content-type", PROBLEM.encode()),
                          (b"content-length", str(len(body)).encode()), *(headers or [])]


def control_in_json(value: Any, where: str = "body") -> str | None:
    """The first field of a decoded JSON document whose text (or key) holds a control
    character other than tab, newline and carriage return."""
    if isinstance(value, str):
        return where if _BODY_CONTROL.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}"
            if _BODY_CONTROL.search(key):
                return where
            found = control_in_json(item, name)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = control_in_json(item, f"{where}.{index}")
            if found:
                return found
    return None


def control_outside_body(scope: Scope) -> str | None:
    """The first place outside the body (path, query parameter, header) that holds a control
    character."""
    path = scope.get("path", "")
    if _CONTROL.search(path):
        return "path"
    query = scope.get("query_string", b"").decode("latin-1")
    if query and _CONTROL.search(unquote(query)):
        for name, value in parse_qsl(query, keep_blank_values=True):
            if _CONTROL.search(name) or _CONTROL.search(value):
                return f"query.{name if not _CONTROL.search(name) else '?'}"
        return "query"
    for raw_name, raw_value in scope.get("headers", []):
        value = raw_value.decode("latin-1")
        if _CONTROL.search(value.replace("\t", " ")):
            return f"header.{raw_name.decode('latin-1')}"
    return None


class Edge:
    """See the module's docstring."""

    def __init__(self, app: ASGIApp, *, max_body: int, body_timeout: float = 30.0,
                 request_log: RequestLog | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.body_timeout = body_timeout
        self.request_log = request_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        scope_token = CURRENT_SCOPE.set(scope)
        status_seen: list[int] = []

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            refusal = self._refusal(scope)
            body = b""
            # A request that declares no body (neither Content-Length nor Transfer-Encoding:
            # a GET) has none (RFC 9112, 6.3): nothing to read, bound or replay.
            reads_body = _declares_body(scope)
            if refusal is None and reads_body:
                try:
                    body = await self._read_body(receive)
                except TooLarge:
                    refusal = self._too_large()
                except TooSlow:
                    refusal = _problem(408, "Request timeout", f"the request body did not "
                                       f"arrive within {self.body_timeout:g} s", "408",
                                       headers=[(b"connection", b"close")])
            if refusal is None:
                refusal = self._body_refusal(scope, body)
            if refusal is not None:
                status, payload, headers = refusal
                await send_with_id({"type": "http.response.start", "status": status,
                                    "headers": headers})
                await send_with_id({"type": "http.response.body", "body": payload})
                return
            await self.app(scope, _replay(body, receive) if reads_body else receive,
                           send_with_id)
        finally:
            if self.request_log is not None:
                self.request_log.done(scope, status_seen[0] if status_seen else 500,
                                      time.perf_counter() - started)
            REQUEST_ID.reset(token)
            CURRENT_SCOPE.reset(scope_token)

    def _too_large(self) -> tuple[int, bytes, list]:
        return _problem(413, "Content too large",
                        f"the request body may be at most {self.max_body} bytes",
                        "content-too-large", headers=[(b"connection", b"close")])

    def _refusal(self, scope: Scope) -> tuple[int, bytes, list] | None:
        where = control_outside_body(scope)
        if where is not None:
            return _problem(422, "Invalid request", f"control characters are not allowed: "
                            f"{where}", "validation",
                            [{"field": where, "reason": "control characters are not allowed"}])
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return _problem(400, "Bad request", "Content-Length is not a number",
                                    "400")
                if length > self.max_body:
                    return self._too_large()
        return None

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        while True:
            try:
                async with asyncio.timeout_at(deadline):  # no task per message (wait_for's)
                    message = await receive()
            except TimeoutError:
                raise TooSlow from None
            if message["type"] != "http.request":
                break  # the client went away; the app sees an empty body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _body_refusal(self, scope: Scope, body: bytes) -> tuple[int, bytes, list] | None:
        if not body:
            return None
        content_type = b""
        for name, value in scope.get("headers", []):
            if name == b"content-type":
                content_type = value.lower()
        if b"json" in content_type or not content_type:
            try:
                document = json.loads(body)
            except (ValueError, RecursionError):
                document = None  # not JSON: the route says so (400)
            where = control_in_json(document) if document is not None else None
        elif content_type.startswith(b"application/x-www-form-urlencoded"):
            fields = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
            where = next((f"body.{name}" for name, value in fields
                          if _BODY_CONTROL.search(name) or _BODY_CONTROL.search(value)), None)
        elif content_type.startswith(b"multipart/"):
            where = None  # files may hold any byte; the size is bounded all the same
        else:
            where = "body" if b"\x00" in body else None
        if where is None:
            return None
        return _problem(422, "Invalid request", f"control characters are not allowed: {where}",
                        "validation",
                        [{"field": where, "reason": "control characters are not allowed"}])


def _declares_body(scope: Scope) -> bool:
    return any(name in (b"content-length", b"transfer-encoding")
               for name, _ in scope.get("headers", []))


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # http.disconnect, when the client goes

    return replay
