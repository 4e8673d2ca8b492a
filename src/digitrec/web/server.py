"""Run the app under gunicorn: a production WSGI server, the model loaded once per worker."""
from __future__ import annotations


def serve(host: str, port: int, workers: int, threads: int, bundle: str | None) -> None:
    import os

    from gunicorn.app.base import BaseApplication

    # One image per request is far too small to share among threads: one TensorFlow thread per
    # worker avoids the workers and their threads fighting over the two cores.
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

    from . import create_app

    class App(BaseApplication):
        def load_config(self):
            settings = {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
                        "worker_class": "gthread", "accesslog": "-", "timeout": 60,
                        "preload_app": False}  # each worker loads its own model: no state shared across fork
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            return create_app({"DIGITREC_BUNDLE": bundle})

    App().run()
