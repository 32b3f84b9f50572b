"""The web application: server-rendered pages and the JSON API, built by `create_app`."""

from __future__ import annotations

from rally.web.app import create_app

__all__ = ["create_app"]
