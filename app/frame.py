"""The dashboard's frame: its pages, the shared sidebar, and how a run enters them.

Public Streamlit API only. A folder named `pages/` beside the entry point makes a fresh server's
first script run use Streamlit's old folder-of-pages mode even though the app calls
`st.navigation`: that run executes a page file on its own (a deep link such as /draw) or the
entry point as an old-style page, and the widgets it draws get another identity than in every
later run (the user's first choice is lost). Calling `st.navigation` is what switches a server to
the new mode, so each session's first run only does that and runs again, before it draws
anything (`enter`); a page file run on its own does the same (`page_setup`).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

import streamlit as st

from app import cache, ui
from core import bundle

ENTERED = "digitrec_entered"  # session state: this session's first run has switched modes
_run = threading.local()  # each script run has a thread of its own: `framed` is this run's


def pages() -> list:
    return [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/draw.py", title="Draw & upload", icon=":material/draw:", url_path="draw"),
        st.Page("pages/train.py", title="Train & compare", icon=":material/model_training:", url_path="train"),
        st.Page("pages/mistakes.py", title="Confusion matrix & mistakes", icon=":material/grid_on:",
                url_path="mistakes"),
    ]


def enter(position: str = "sidebar"):
    """The page this run shows; on a session's first run, switch to navigation mode and run again."""
    page = st.navigation(pages(), position=position)
    if not st.session_state.get(ENTERED):
        st.session_state[ENTERED] = True
        st.rerun()
    return page


@contextmanager
def framing():
    """streamlit_app.py runs the page inside this: the page then knows the frame ran first."""
    _run.framed = True
    try:
        yield
    finally:
        _run.framed = False


def page_setup() -> None:
    """Every page calls this first. A page file that runs without the frame (streamlit_app.py)
    runs in the old folder mode (a fresh server's first run on a deep link): switch modes and run
    again, through the frame, on the same page (its URL)."""
    if not getattr(_run, "framed", False):
        st.navigation(pages(), position="hidden")
        st.rerun()


def sidebar() -> None:
    """The model picker every page reads (`st.session_state["model"]`, a bundle folder), its card,
    and the bundles left out with the reason."""
    with st.sidebar:
        offered, left_out = cache.usable()
        if not offered:
            st.error("No usable model bundle in artifacts/. Run `make pretrained`.")
            st.stop()
        previous = st.session_state.get("model")
        # options are bundle folders (a run renamed like a shipped model cannot hide it); labels shown
        chosen = st.selectbox("Model", list(offered), key="model_path", format_func=offered.get,
                              help="Used by every page. Runs trained from the dashboard appear here too.")
        st.session_state["model"] = chosen
        if previous and previous not in offered:
            st.warning(f"The model **{previous.rsplit('/', 1)[-1]}** you chose is gone or cannot be used any more "
                       f"(deleted or renamed in another tab?): now using **{offered[chosen]}**.")
        with st.expander("Model card"):
            ui.model_card(cache.meta(chosen))
        if left_out:
            with st.expander(f"{len(left_out)} model{'s' * (len(left_out) > 1)} left out"):
                for name, why in left_out.items():
                    st.caption(f"**{name}**: {why}")


def shipped_rows() -> list[dict]:
    """Home's table: the shipped models (runs are listed on Train & compare)."""
    rows = []
    for path, name in cache.usable()[0].items():
        if bundle.is_shipped(path):
            m = cache.meta(path)
            if m is not None:
                rows.append({"model": name.split(" (")[0], "kind": m.name, "test accuracy": m.test_accuracy,
                             "parameters": m.parameters, "epochs": m.epochs, "training s": m.train_seconds,
                             "calibrated": m.calibration is not None})
    return rows
