"""Security headers on every response (a pure ASGI wrapper: no cost worth measuring)."""

from __future__ import annotations

from typing import Any

# Everything Rally serves comes from itself; nothing may frame it (clickjacking); forms post
# only back to it; links to other sites carry no path or query (reset links have tokens).
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
_COMMON = [
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
]
HEADERS = [(b"content-security-policy", _CSP.encode()), *_COMMON]
# The interactive API docs (Swagger UI, ReDoc) start with an inline script and use workers.
DOCS_HEADERS = [(b"content-security-policy", b"frame-ancestors 'none'"), *_COMMON]
DOCS_PATHS = frozenset({"/api/docs", "/api/redoc"})


class SecurityHeaders:
    """Add CSP, X-Frame-Options, Referrer-Policy and nosniff to every HTTP response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = DOCS_HEADERS if scope["path"] in DOCS_PATHS else HEADERS

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
