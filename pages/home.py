"""Home: what digitrec does, where to go, the shipped models."""
import streamlit as st

from app import frame

frame.page_setup()
st.title("digitrec: handwritten digits, read honestly")
st.markdown(
    "Networks trained here on MNIST read your digits: drawn on a canvas, uploaded, or "
    "photographed on paper. Every image is first brought into MNIST's own form (white ink on "
    "black, 20x20 box, centred by mass), so a digit drawn off-centre or photographed on grey "
    "paper is read as well as a clean one. When the network is not sure it says **uncertain**; "
    "when the picture holds no digit it says **no digit**.")
st.page_link("pages/draw.py", label="Draw or upload a digit", icon=":material/draw:")
st.page_link("pages/train.py", label="Train the baseline and the improved network, compare runs",
             icon=":material/model_training:")
st.page_link("pages/mistakes.py", label="Explore the confusion matrix and the digits behind each mistake",
             icon=":material/grid_on:")
st.subheader("Shipped models")
st.dataframe(frame.shipped_rows(), hide_index=True, column_config={
    "test accuracy": st.column_config.NumberColumn(format="percent"),
    "parameters": st.column_config.NumberColumn(format="localized")})
st.caption("Test accuracy: the 10,000 MNIST test images, measured after training. "
           "`baseline` and `improved` are the original recipe's two networks; `cnn` is ours.")
