"""digitrec: the dashboard. `streamlit run streamlit_app.py` (or `make run`)."""
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from app import cache, ui
from core import bundle

if PagesManager.uses_pages_directory:  # a fresh server's first run: see ui.leave_folder_mode
    ui.leave_folder_mode()

st.set_page_config(page_title="digitrec", page_icon="✏️", layout="wide")
ui.settle_startup()


def home():
    st.title("digitrec: handwritten digits, read honestly")
    st.markdown(
        "Networks trained here on MNIST read your digits: drawn on a canvas, uploaded, or "
        "photographed on paper. Every image is first brought into MNIST's own form (white ink on "
        "black, 20x20 box, centred by mass), so a digit drawn off-centre or photographed on grey "
        "paper is read as well as a clean one. When the network is not sure it says **uncertain**; "
        "when the picture holds no digit it says **no digit**.")
    st.page_link(draw, label="Draw or upload a digit", icon=":material/draw:")
    st.page_link(train, label="Train the baseline and the improved network, compare runs",
                 icon=":material/model_training:")
    st.page_link(mistakes, label="Explore the confusion matrix and the digits behind each mistake",
                 icon=":material/grid_on:")
    st.subheader("Shipped models")
    rows = []
    for path, name in cache.usable()[0].items():
        if not bundle.is_shipped(path):
            continue  # runs from Train & compare are listed there
        meta = cache.meta(path)
        rows.append({"model": name.split(" (")[0], "kind": meta.get("name"),
                     "test accuracy": meta.get("test_accuracy"), "parameters": meta.get("parameters"),
                     "epochs": meta.get("config", {}).get("epochs"), "training s": meta.get("train_seconds"),
                     "calibrated": "calibration" in meta})
    st.dataframe(rows, hide_index=True, column_config={
        "test accuracy": st.column_config.NumberColumn(format="percent"),
        "parameters": st.column_config.NumberColumn(format="localized")})
    st.caption("Test accuracy: the 10,000 MNIST test images, measured after training. "
               "`baseline` and `improved` are the original recipe's two networks; `cnn` is ours.")


draw = st.Page("pages/draw.py", title="Draw & upload", icon=":material/draw:", url_path="draw")
train = st.Page("pages/train.py", title="Train & compare", icon=":material/model_training:", url_path="train")
mistakes = st.Page("pages/mistakes.py", title="Confusion matrix & mistakes", icon=":material/grid_on:",
                   url_path="mistakes")
pages = [st.Page(home, title="Home", icon=":material/home:", default=True), draw, train, mistakes]

with st.sidebar:
    offered, left_out = cache.usable()
    by_label = {name: path for path, name in offered.items()}
    if not by_label:
        st.error("No usable model bundle in artifacts/. Run `make pretrained`.")
        st.stop()
    chosen = st.selectbox("Model", list(by_label), key="model_label",
                          help="Used by every page. Runs trained from the dashboard appear here too.")
    st.session_state["model"] = by_label[chosen]  # the bundle folder every page reads
    with st.expander("Model card"):
        ui.model_card(cache.meta(st.session_state["model"]))
    if left_out:
        with st.expander(f"{len(left_out)} model{'s' * (len(left_out) > 1)} left out"):
            for name, why in left_out.items():
                st.caption(f"**{name}**: {why}")

st.session_state[ui.APP_MARK] = True  # pages check it: see ui.page_setup
cache.service()  # start the model worker now, in the background: the first answer comes sooner
st.navigation(pages).run()
