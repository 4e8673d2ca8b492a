"""The web app: a page to upload, drop, paste or draw a digit, and a JSON API under /api/."""
from __future__ import annotations

import os

import io

from flask import Flask, Request

DEFAULTS = {
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,  # 413 above this: a phone photo fits, a video does not
    "DIGITREC_BUNDLE": None,  # model bundle folder; None: $DIGITREC_BUNDLE, else the shipped model
    "DIGITREC_RECOGNIZER": None,  # an already loaded Recognizer (tests); overrides the bundle
}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


class InMemoryRequest(Request):
    """Uploads stay in memory (bounded by MAX_CONTENT_LENGTH): nothing a user sends touches the disk."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return io.BytesIO()


def create_app(config: dict | None = None) -> Flask:
    """The app, with its model loaded once (per process)."""
    from ..recognizer import Recognizer
    from .views import bp, register_error_handlers

    app = Flask(__name__)
    app.request_class = InMemoryRequest
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    rec = app.config["DIGITREC_RECOGNIZER"]
    if rec is None:
        rec = Recognizer(app.config["DIGITREC_BUNDLE"] or os.environ.get("DIGITREC_BUNDLE") or None)
    app.extensions["digitrec"] = rec
    app.register_blueprint(bp)
    register_error_handlers(app)

    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Frame-Options"] = "DENY"
        return resp

    return app
