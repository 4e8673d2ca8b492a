"""digitrec: the dashboard's frame. `streamlit run streamlit_app.py` (or `make run`).

The pages are in pages/ (Home first); app/frame.py says how a run enters them."""
import streamlit as st

from app import cache, frame, ui

st.set_page_config(page_title="digitrec", page_icon="✏️", layout="wide")
ui.settle_startup()
page = frame.enter()
frame.sidebar()
cache.service()  # start the model worker now, in the background: the first answer comes sooner
with frame.framing():  # pages check it: see frame.page_setup
    page.run()
