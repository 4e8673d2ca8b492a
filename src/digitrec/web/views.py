"""Routes: the page, the API page, and the JSON API. Errors under /api/ are always JSON."""
from __future__ import annotations

import base64
import binascii
import io
import time

from flask import Blueprint, current_app, jsonify, render_template, request
from PIL import Image
from werkzeug.exceptions import HTTPException

from ..preprocess import ImageError

bp = Blueprint("digitrec", __name__)

DATA_URL_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff"}


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def recognizer():
    return current_app.extensions["digitrec"]


def image_bytes() -> bytes:
    """The uploaded image: multipart field `image`, or JSON {"image": "data:image/...;base64,..."}."""
    ctype = request.mimetype
    if ctype == "multipart/form-data":
        f = request.files.get("image")
        if f is None:
            raise ApiError(400, "no file in the multipart field 'image'")
        data = f.read()
    elif ctype == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("image"), str):
            raise ApiError(400, 'expected a JSON object {"image": "data:image/png;base64,..."}')
        data = decode_data_url(body["image"])
    else:
        raise ApiError(415, "send multipart/form-data with a file 'image', or application/json with a data URL")
    if not data:
        raise ApiError(400, "the image is empty")
    return data


def decode_data_url(url: str) -> bytes:
    head, sep, payload = url.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        raise ApiError(400, "the image must be a base64 data URL: data:image/png;base64,...")
    mime = head[5:-7].lower()
    if mime not in DATA_URL_TYPES:
        raise ApiError(415, f"unsupported data URL type; use one of {', '.join(sorted(DATA_URL_TYPES))}")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "the base64 data is not valid") from None


def png_data_url(array) -> str:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def run(fn):
    start = time.perf_counter()
    try:
        result = fn(recognizer(), image_bytes())
    except ImageError as e:
        raise ApiError(400, str(e)) from None
    return result, round((time.perf_counter() - start) * 1000, 2)


@bp.get("/")
def index():
    return render_template("index.html", card=recognizer().card())


@bp.get("/api")
@bp.get("/api/")
def api_page():
    return render_template("api.html", root=request.host_url.rstrip("/"))


@bp.post("/api/predict")
def api_predict():
    pred, ms = run(lambda rec, data: rec.predict(data))
    return jsonify({**pred.to_json(), "input": png_data_url(pred.input), "ms": ms})


@bp.post("/api/read")
def api_read():
    reading, ms = run(lambda rec, data: rec.read(data))
    out = reading.to_json()
    for d, p in zip(out["digits"], reading.digits):
        d["input"] = png_data_url(p.input)
    return jsonify({**out, "ms": ms})


@bp.get("/api/health")
def api_health():
    return jsonify({"status": "ok", "model": recognizer().meta.get("name")})


@bp.get("/api/model")
def api_model():
    return jsonify(recognizer().card())


def register_error_handlers(app):
    def wants_json():
        return request.path.startswith("/api/")

    @app.errorhandler(ApiError)
    def api_error(e):
        return jsonify({"error": e.message}), e.status

    @app.errorhandler(HTTPException)
    def http_error(e):
        if e.code == 413:
            limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
            message = f"the upload is larger than {limit} MB"
        else:
            message = e.description or e.name
        if wants_json():
            return jsonify({"error": message}), e.code
        return render_template("error.html", code=e.code, message=message), e.code

    @app.errorhandler(Exception)
    def unexpected(e):  # a bug must still not show a stack trace or break the API's contract
        app.logger.exception("unexpected error")
        if wants_json():
            return jsonify({"error": "internal error"}), 500
        return render_template("error.html", code=500, message="internal error"), 500
