"""The dashboard's side: Streamlit widgets (ui.py) and cached loading (cache.py). core/ never imports it."""
