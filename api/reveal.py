"""Sealed text is revealed only on its way out (domain/protection.py): the views and the
records hold tokens, and this middleware replaces each token in a JSON, HTML or CSV response
with its text, escaped for that format, or with "[erased on <date>]" once the key is
destroyed (never an error). Exports and proofs (other media types) carry the tokens as stored.

`reveal(value)` does the same for a value a route renders itself (the Board pack's PDF).
"""

from __future__ import annotations

import csv
import html
import io
import json
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.protection import TOKEN_PATTERN, TOKEN_PREFIX, TextCipher, reveal_all

_cipher: ContextVar[TextCipher | None] = ContextVar("ledger_text_cipher", default=None)
_TOKEN_BYTES = TOKEN_PREFIX.encode()


def reveal(value: Any) -> Any:
    cipher = _cipher.get()
    return value if cipher is None else reveal_all(value, cipher.unseal)


def reveal_with(cipher: TextCipher | None, value: Any) -> Any:
    """reveal() outside a request (the CLI's report and pack)."""
    return value if cipher is None else reveal_all(value, cipher.unseal)


def _cipher_of(scope: Scope) -> TextCipher | None:
    services = getattr(scope["app"].state, "services", None)
    return None if services is None else services.ledger.text_cipher


def reveal_body(body: bytes, media_type: str, cipher: TextCipher) -> bytes:
    if _TOKEN_BYTES not in body:
        return body
    text = body.decode("utf-8")
    if media_type == "text/csv":
        rows = list(csv.reader(io.StringIO(text, newline="")))
        out = io.StringIO()
        writer = csv.writer(out)
        for row in rows:
            writer.writerow([reveal_all(cell, cipher.unseal) for cell in row])
        return out.getvalue().encode()
    if media_type == "text/html":
        def escape(m: Any) -> str:
            return html.escape(cipher.unseal(m.group(0)))
    else:  # JSON: the token sits inside a JSON string
        def escape(m: Any) -> str:
            return json.dumps(cipher.unseal(m.group(0)), ensure_ascii=False)[1:-1]
    return TOKEN_PATTERN.sub(escape, text).encode()


REVEALED = ("application/json", "application/problem+json", "text/html", "text/csv")


class RevealMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cipher = _cipher_of(scope)
        if cipher is None:
            await self.app(scope, receive, send)
            return
        token = _cipher.set(cipher)
        start: Message | None = None
        chunks: list[bytes] = []
        media_type = ""

        async def wrapped(message: Message) -> None:
            nonlocal start, media_type
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                media_type = headers.get(b"content-type", b"").decode().split(";")[0].strip()
                if media_type not in REVEALED:
                    await send(message)
                    return
                start = message
                return
            if start is None:  # not revealed: pass through (streams stay streams)
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = reveal_body(b"".join(chunks), media_type, cipher)
            headers = [(k, v) for k, v in start.get("headers") or []
                       if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        try:
            await self.app(scope, receive, wrapped)
        finally:
            _cipher.reset(token)
