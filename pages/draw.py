"""Draw & upload: a digit drawn, uploaded or photographed, and what the network makes of it."""
from pathlib import Path

import streamlit as st

from app import cache, frame, ui
from core import decode, inside, preprocess
from core.bundle import BundleError
from core.service import ServiceError

frame.page_setup()
st.title("Draw & upload")
MAX_FILES = 50  # per upload: each file is decoded and read; more would keep the worker from everyone else

left, right = st.columns([2, 3])
number = left.segmented_control("Read", ["one digit", "a number"], default="one digit", key="mode",
                                help="A number: several digits side by side, read left to right.") == "a number"
compare = right.toggle("Compare all models", key="compare",
                       help="Every model's answer to the same drawing, side by side.")
model = cache.load(st.session_state["model"])
if model.error:
    st.error(f"This model cannot be used: {model.error}")
    st.stop()


def answer(image, key: str) -> str:
    """Read `image` with the chosen model (or all of them) and show the result; returns the
    headline. An uploaded file (bytes) is read once per model version; the canvas's pixels change
    with every stroke."""
    worker = cache.service()
    upload = isinstance(image, bytes)
    if number:
        reading = cache.answer(model.path, image, number=True) if upload else worker.read(model.path, image)
        ui.number_answer(reading, image, key=key)
        return ui.number_headline(reading)
    if not compare:
        pred = cache.answer(model.path, image) if upload else worker.predict(model.path, image)
        ui.digit_answer(pred, model.card["calibration"], key=key)
        steps = st.expander("How the image was prepared, step by step", key=f"{key}_steps", on_change="rerun")
        if steps.open:  # computed only while open
            with steps:
                ui.steps(preprocess.explain(image))
        if pred.guess is not None:
            view = st.expander("Inside the network: what each layer made of it", key=f"{key}_inside_open",
                               on_change="rerun")
            if view.open:  # one more pass through the network, in the model worker, only while open
                with view, st.container(key="inside" if key == "answer" else f"{key}_inside"):
                    ui.panels(inside.inside_panels(worker.inside(model.path, pred.input)), f"{key}_inside")
        return ui.short_answer(pred)
    others = [cache.load(p) for p in cache.usable()[0]]
    pred = worker.predict(model.path, image)
    ui.digit_answer(pred, model.card["calibration"], key=key)
    for i, (col, other) in enumerate(zip(st.columns(len(others)), others)):
        with col:
            st.markdown(f"**{other.label}**")
            if other.error:
                st.caption(other.error)
            else:
                ui.digit_answer(worker.predict(other.path, image), other.card["calibration"],
                                key=f"{key}_model{i}", compact=True)
    return ui.short_answer(pred)


def safely(image, key: str, name: str = "the drawing") -> str:
    """The answer's headline; a bad file gets a clear message, and the page and the other files
    carry on."""
    try:
        return answer(image, key)
    except decode.ImageError as e:
        st.warning(f"**{name}**: cannot read this image: {e}")
    except ServiceError as e:
        st.warning(f"**{name}**: the model worker failed ({e}); try again.")
    except BundleError as e:  # the model was deleted or damaged since the page loaded it
        if not Path(model.path).is_dir():  # deleted or renamed: the whole page again, so the sidebar
            st.rerun()  # says so and picks another model (a stroke alone reruns only the drawing)
        st.warning(f"**{name}**: the model **{model.label}** cannot be used now: {e}. Pick another in the sidebar.")
    return "no answer"


draw_tab, upload_tab, camera_tab = st.tabs([":material/draw: Draw", ":material/upload: Upload", ":material/photo_camera: Camera"])


@st.fragment
def drawing() -> None:
    """Only this part reruns after a stroke: the answer comes without redrawing the page."""
    pad, result = st.columns([2, 3])
    with pad:
        above = st.empty()  # the headline, on narrow screens (ui.headline_above)
        brush = st.slider("Brush width", 8, 40, 20, key="brush", help="In canvas pixels (280 across).")
        pixels = ui.canvas("canvas", brush)
        st.caption("Draw one digit (or a number, in number mode). Undo, redo and reset are above "
                   "the canvas.")
    with result:
        if pixels is None:
            with st.container(key="answer"):
                ui.big("no digit")
                st.markdown("**no_digit**: the canvas is empty. Draw a digit: the answer comes after each stroke.")
            said = "no digit"
        else:
            said = safely(pixels, "answer")
    with above.container(key="answer_mini"):
        ui.headline_above(said)


with draw_tab:
    drawing()

with upload_tab:
    files = st.file_uploader("Images of digits (PNG, JPEG, GIF, BMP, TIFF, WebP)", accept_multiple_files=True,
                             key="upload", help="Drag and drop several at once; each gets its own answer.")
    if len(files or []) > MAX_FILES:
        st.warning(f"{len(files)} files: the first {MAX_FILES} are read. Upload the rest in another batch.")
    for i, f in enumerate((files or [])[:MAX_FILES]):
        st.divider()
        pic, result = st.columns([1, 2])
        data = f.getvalue()
        with pic:
            try:
                st.image(cache.thumbnail(data), caption=f.name)
            except decode.ImageError:
                st.caption(f.name)
        with result:
            safely(data, f"upload_{i}", f.name)

with camera_tab:
    if st.toggle("Use the camera", key="camera_on", help="Photograph digits written on paper."):
        shot = st.camera_input("Photograph a digit or a number on paper", key="camera")
        if shot is not None:
            safely(shot.getvalue(), "camera_answer", "the photo")
