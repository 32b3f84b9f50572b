"""What operators and browsers ask of the server itself: liveness, readiness, metrics, docs, icons.

- `/livez`: the process answers (no database access): restart it when this fails.
- `/readyz`: the database answers and its schema is at head: send traffic only then.
- `/metrics`: Prometheus text format, when the `metrics` setting is on (404 otherwise).
- `/api/docs`, `/api/redoc`: Swagger UI and ReDoc with their assets served by Rally
  (from the `fastapi-offline` package), so the docs work without internet.
- `/favicon.ico`, `/manifest.webmanifest`: "Add to home screen" gets Rally's icon and name.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel

router = APIRouter()
DOCS_ASSETS = "/api/docs-assets"
READY_CACHE_S = 1.0


class Probe(BaseModel):
    """A liveness or readiness answer."""

    status: str
    database: str | None = None
    revision: str | None = None
    head: str | None = None


@router.get("/livez", response_model=Probe, tags=["operations"])
async def livez() -> Probe:
    """Liveness: the process is up and serving (the database is not consulted)."""
    return Probe(status="ok")


@router.get(
    "/readyz",
    response_model=Probe,
    responses={503: {"model": Probe}},
    tags=["operations"],
)
def readyz(request: Request) -> Response:
    """Readiness: the database answers and its schema is at head (503 and why, otherwise)."""
    from sqlalchemy.exc import SQLAlchemyError

    from rally.db.state import inspect_state

    head = request.app.state.head_revision
    cached = request.app.state.__dict__.get("_ready")
    if cached is not None and time.monotonic() - cached[0] < READY_CACHE_S:
        return JSONResponse(cached[1], status_code=cached[2])
    try:
        with request.app.state.engine.connect() as conn:
            state = inspect_state(conn)
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        body = Probe(status="unavailable", database=reason[0] if reason else "unreachable")
        return JSONResponse(body.model_dump(), status_code=503)
    except Exception as exc:  # an unknown database shape: not ready, say what it is
        body = Probe(status="unavailable", database=str(exc))
        return JSONResponse(body.model_dump(), status_code=503)
    ready = state.kind == "rally" and state.revision == head
    body = Probe(
        status="ok" if ready else "schema behind",
        database="ok",
        revision=state.revision,
        head=head,
    )
    # A positive answer is kept for a second: balancers ask often, the catalog is not cheap.
    if ready:
        request.app.state._ready = (time.monotonic(), body.model_dump(), 200)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this worker process (when the `metrics` setting is on)."""
    exporter = request.app.state.metrics
    if exporter is None:
        return JSONResponse({"error": "Metrics are off; set RALLY_METRICS=true."}, 404)
    payload, content_type = exporter.render()
    return Response(payload, media_type=content_type)


@router.get("/api/docs", include_in_schema=False)
async def swagger_ui() -> HTMLResponse:
    """Swagger UI for the JSON API, with assets served here."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Rally API",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url="/static/icon-32.png",
    )


@router.get("/api/redoc", include_in_schema=False)
async def redoc() -> HTMLResponse:
    """ReDoc for the JSON API, with its script served here."""
    return get_redoc_html(
        openapi_url="/openapi.json",
        title="Rally API",
        redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
        redoc_favicon_url="/static/icon-32.png",
        with_google_fonts=False,
    )


@router.get("/favicon.ico", include_in_schema=False)
async def favicon(request: Request) -> FileResponse:
    """The site icon (a PNG: every current browser reads it at this path)."""
    return FileResponse(request.app.state.static_dir / "icon-32.png", media_type="image/png")


MANIFEST: dict[str, Any] = {
    "name": "Rally",
    "short_name": "Rally",
    "description": "Your league teams, next matches and standings.",
    "start_url": "/",
    "scope": "/",
    "display": "standalone",
    "background_color": "#ffffff",
    "theme_color": "#166534",
    "icons": [
        {"src": "/static/icon-192.png", "sizes": "192x192", "type": "image/png"},
        {"src": "/static/icon-512.png", "sizes": "512x512", "type": "image/png"},
        {
            "src": "/static/icon-512.png",
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
    ],
}


@router.get("/manifest.webmanifest", include_in_schema=False)
async def manifest() -> JSONResponse:
    """The web app manifest: name, colours and icons for "Add to home screen"."""
    return JSONResponse(MANIFEST, media_type="application/manifest+json")
