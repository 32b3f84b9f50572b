"""Structured logs, request logging and Prometheus metrics for the server and the CLI.

- `configure_logging(settings)`: every log line carries a UTC timestamp and level, then
  key=value pairs (`text`) or one JSON object per line (`json`, python-json-logger).
- `logging_to_stderr(settings)`: the same lines for the duration of a CLI command (the long
  commands log their steps this way when not on a terminal, see `rally.cli._common`).
- `RequestLog`: an ASGI middleware that gives each request an id (the client's
  `X-Request-ID` if sane, else a new one, echoed in the response), and logs method, path,
  route, status, duration and the signed-in user id (set by the auth dependency in
  `request.state.user_id`).
- `Metrics`: request counts and latencies per route and the database pool's state, in a
  registry of the app's own (tests build many apps in one process).
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from rally.config import Settings

log = logging.getLogger("rally.request")

#: Attributes every LogRecord has; anything else passed in `extra=` is a field of the line.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def reserved_field(name: str) -> bool:
    """Tell whether `name` cannot be a field of a line (a LogRecord attribute of its own)."""
    return name in _STANDARD


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _quote(value: Any) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' "=\n\t'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class KeyValueFormatter(logging.Formatter):
    """`2026-12-01T06:00:00.123+00:00 INFO rally.request msg="request" method=GET ...`."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [
            _timestamp(record),
            record.levelname,
            record.name,
            f"msg={_quote(record.getMessage())}",
        ]
        parts += [f"{k}={_quote(v)}" for k, v in _fields(record).items()]
        if record.exc_info:
            parts.append(f"error={_quote(self.formatException(record.exc_info))}")
        return " ".join(parts)


def _json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    class Formatter(JsonFormatter):
        def add_fields(
            self, log_record: dict[str, Any], record: logging.LogRecord, message: dict[str, Any]
        ) -> None:
            super().add_fields(log_record, record, message)
            log_record["time"] = _timestamp(record)
            log_record["level"] = record.levelname
            log_record["logger"] = record.name

    return Formatter("%(message)s", rename_fields={"message": "msg"})


def formatter(log_format: str) -> logging.Formatter:
    """Return the formatter for a `log_format` setting (`text` or `json`)."""
    return _json_formatter() if log_format == "json" else KeyValueFormatter()


def configure_logging(settings: Settings, *, stream: Any = None) -> None:
    """Send Rally's, uvicorn's and the root logger's lines to stderr in the chosen format."""
    handler = logging.StreamHandler(stream) if stream is not None else StderrHandler()
    handler.setFormatter(formatter(settings.log_format))
    level = settings.log_level.upper()
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Requests are logged once, by RequestLog, with their id and duration.
    logging.getLogger("uvicorn.access").disabled = True


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to whatever `sys.stderr` is when a line is written (test runners
    swap it during a command)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _not_chatter(record: logging.LogRecord) -> bool:
    # Alembic announces each of its plugins at INFO before every migration run.
    return record.name != "alembic.runtime.plugins" or record.levelno >= logging.WARNING


@contextmanager
def logging_to_stderr(settings: Settings) -> Iterator[None]:
    """Log to stderr in the configured format and level until the block ends.

    The handler is added to the root logger (so library lines, such as Alembic's, come out
    the same way) and removed again afterwards; other handlers already there (a test
    runner's capture) are kept.
    """
    handler = StderrHandler()
    handler.setFormatter(formatter(settings.log_format))
    handler.addFilter(_not_chatter)
    root = logging.getLogger()
    level = root.level
    # One line per record: a stderr handler already there (`configure_logging` in the same
    # process) steps aside for the block.
    aside = [h for h in root.handlers if isinstance(h, StderrHandler)]
    for other in aside:
        root.removeHandler(other)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    try:
        yield
    finally:
        root.removeHandler(handler)
        for other in aside:
            root.addHandler(other)
        root.setLevel(level)


def uvicorn_log_config(settings: Settings) -> dict[str, Any]:
    """A logging dictConfig for uvicorn workers: the same format as `configure_logging`."""
    factory = "rally.observability.formatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"rally": {"()": factory, "log_format": settings.log_format}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "rally",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": settings.log_level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
        },
    }


class RequestLog:
    """ASGI middleware: request id, one log line per request, metrics."""

    def __init__(
        self, app: ASGIApp, *, access_log: bool = True, metrics: Metrics | None = None
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            if self.metrics is not None:
                self.metrics.observe(scope["method"], route, status, seconds)
            if self.access_log:
                log.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                        "user_id": scope["state"].get("user_id"),
                        "client": (scope.get("client") or ("", 0))[0],
                    },
                )


class Metrics:
    """Prometheus metrics of one app: requests per route and status, latency, database pool."""

    def __init__(self, engines: Callable[[], Iterable[tuple[str, Engine]]]) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram
        from prometheus_client.core import GaugeMetricFamily

        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rally_http_requests",
            "HTTP requests by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "rally_http_request_duration_seconds",
            "HTTP request duration by method and route.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )

        class PoolCollector:
            def collect(self) -> Iterable[GaugeMetricFamily]:
                size = GaugeMetricFamily(
                    "rally_db_pool_size", "Connections the pool keeps.", labels=["database"]
                )
                out = GaugeMetricFamily(
                    "rally_db_pool_checked_out", "Connections in use.", labels=["database"]
                )
                for name, engine in engines():
                    pool: Any = engine.pool
                    if hasattr(pool, "size") and hasattr(pool, "checkedout"):
                        size.add_metric([name], pool.size())
                        out.add_metric([name], pool.checkedout())
                yield size
                yield out

        self.registry.register(PoolCollector())

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """Return the exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
