import base64
import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from digitrec.recognizer import Recognizer
from digitrec.web import create_app
from tests.test_preprocess import huge_png, stroke_digit


@pytest.fixture(scope="module")
def client(tiny_bundle):
    app = create_app({"DIGITREC_RECOGNIZER": Recognizer(tiny_bundle), "MAX_CONTENT_LENGTH": 1024 * 1024})
    return app.test_client()


def jpeg(arr, size=300):
    buf = io.BytesIO()
    Image.fromarray(arr).resize((size, size)).convert("RGB").save(buf, "JPEG")
    return buf.getvalue()


DIGIT = jpeg(255 - stroke_digit())


def upload(client, data, path="/api/predict", name="d.jpg"):
    return client.post(path, data={"image": (io.BytesIO(data), name)})


def test_predict_multipart(client):
    r = upload(client, DIGIT)
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) >= {"digit", "guess", "confidence", "status", "probabilities", "box", "input"}
    assert len(body["probabilities"]) == 10 and body["input"].startswith("data:image/png;base64,")


def test_predict_json_data_url(client):
    url = "data:image/jpeg;base64," + base64.b64encode(DIGIT).decode()
    r = client.post("/api/predict", json={"image": url})
    assert r.status_code == 200 and r.get_json()["guess"] == upload(client, DIGIT).get_json()["guess"]


def test_read(client):
    r = upload(client, DIGIT, "/api/read")
    body = r.get_json()
    assert r.status_code == 200 and len(body["digits"]) == 1 and len(body["digits"][0]["box"]) == 4


def test_blank_is_no_digit(client):
    body = upload(client, jpeg(np.full((50, 50), 235, np.uint8))).get_json()
    assert body["status"] == "no_digit" and body["digit"] is None


def test_health_and_model(client):
    assert client.get("/api/health").get_json()["status"] == "ok"
    card = client.get("/api/model").get_json()
    assert card["name"] == "linear" and "test_accuracy" in card


def test_pages(client):
    for path in ("/", "/api"):
        r = client.get(path)
        assert r.status_code == 200 and b"bootstrap.min.css" in r.data
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert b"<script>" not in client.get("/").data  # no inline script: the CSP forbids it
    assert client.get("/static/vendor/bootstrap.min.css").status_code == 200
    assert client.get("/static/app.js").status_code == 200


@pytest.mark.parametrize("kwargs,status", [
    (dict(data=b"abc", content_type="text/plain"), 415),
    (dict(json={"image": "data:text/html;base64,PGI+"}), 415),
    (dict(json={"image": "data:image/png;base64,@@@"}), 400),
    (dict(json={"image": "not a data url"}), 400),
    (dict(json={"picture": "x"}), 400),
    (dict(json=[1, 2]), 400),
    (dict(data=b"{broken json", content_type="application/json"), 400),
    (dict(data={"other": (io.BytesIO(b"x"), "x.png")}), 400),
    (dict(data={"image": (io.BytesIO(b""), "x.png")}), 400),
    (dict(data={"image": (io.BytesIO(b"random bytes"), "x.png")}), 400),
    (dict(data={"image": (io.BytesIO(DIGIT[:200]), "x.jpg")}), 400),
    (dict(data={"image": (io.BytesIO(huge_png(20000, 20000)), "x.png")}), 400),
    (dict(data={"image": (io.BytesIO(b"\0" * (2 * 1024 * 1024)), "x.png")}), 413),
])
def test_errors_are_json(client, kwargs, status):
    r = client.post("/api/predict", **kwargs)
    assert r.status_code == status, r.data[:200]
    assert r.is_json and isinstance(r.get_json()["error"], str)


def test_not_found_and_method(client):
    r = client.get("/api/nothing")
    assert r.status_code == 404 and r.is_json
    r = client.get("/api/predict")
    assert r.status_code == 405 and r.is_json
    r = client.get("/nothing")
    assert r.status_code == 404 and b"<html" in r.data


def test_user_input_is_not_reflected(client):
    evil = "data:<script>alert(1)</script>;base64,AAAA"
    r = client.post("/api/predict", json={"image": evil})
    assert r.status_code in (400, 415) and b"<script>" not in r.data


def test_concurrent_requests(client, tiny_bundle):
    app = create_app({"DIGITREC_RECOGNIZER": Recognizer(tiny_bundle)})

    def one(_):
        with app.test_client() as c:
            return upload(c, DIGIT).get_json()["probabilities"]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(32)))
    assert all(np.allclose(r, results[0]) for r in results)


def test_uploads_are_not_written_to_disk(client, monkeypatch):
    from werkzeug import formparser

    def no_disk(*a, **k):
        raise AssertionError("an upload was spooled to a temporary file")

    monkeypatch.setattr(formparser, "SpooledTemporaryFile", no_disk)
    big = jpeg(255 - stroke_digit(), size=900) + b"\0" * 600_000  # over Werkzeug's 500 KB spool size
    r = upload(client, big)
    assert r.status_code == 200
