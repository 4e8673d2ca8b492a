"""Confusion matrix & mistakes: where a model goes wrong, the images behind every cell, and what
another model fixes or breaks."""
from pathlib import Path

import pandas as pd
import streamlit as st

from app import cache, frame, ui
from core import evaluate, figures, flags, inside, suite
from core.bundle import BundleError
from core.service import ServiceError

frame.page_setup()
st.title("Confusion matrix & mistakes")
PER_PAGE = 50
VIEWS = {"count": "counts", "recall": "% of row (recall)", "precision": "% of column (precision)"}

model = cache.load(st.session_state["model"])
if model.error:
    st.warning(f"**{model.label}** cannot be loaded, so it cannot be scored: {model.error}. Pick another model "
               "in the sidebar.")
    st.stop()

view = st.segmented_control("View", ["Confusion matrix", "Map", "Refusals"], default="Confusion matrix", key="cm_view",
                            help="Map: every image placed by what the network sees in it. Refusals: digits in many "
                                 "styles (bold, pixelated, printed, photographed…) and things that are not digits, "
                                 "and what the model answers for each.") or "Confusion matrix"


def refusal_clicked() -> None:
    points = st.session_state["rf_chart"].selection.points
    if points:
        st.session_state["rf_pick"] = tuple(points[0]["customdata"][:2])


if view == "Refusals":
    try:
        cols, rep = cache.refusals(model.path)
    except (BundleError, ServiceError) as e:
        st.warning(f"**{model.label}** could not be scored: {e}. Try again, or pick another model in the sidebar.")
        st.stop()
    by_name = {c.name: c for c in cols}
    st.caption(f"**{model.label}** on {cache.REFUSALS_N} MNIST test digits per style and {cache.REFUSALS_N} "
               "non-digits per family (`python benchmarks/styles.py` scores 1,000 each). ◆ marks the styles the "
               "model never saw in training or calibration: their figures are the honest estimate for new handwriting.")
    bars, curve = st.columns([3, 2], gap="large")
    with bars, st.container(key="refusals"):
        st.plotly_chart(figures.refusals(rep["rows"]), key="rf_chart", on_select=refusal_clicked,
                        selection_mode="points", config={"displayModeBar": False})
        st.caption("Click a bar segment to see its images below, most confident guess first.")
    with curve:
        st.plotly_chart(figures.risk_coverage(rep["curve"], rep["point"]), key="rf_curve",
                        config={"displayModeBar": False})
        st.caption("All digit styles together: as the confidence threshold moves, how many digits get an "
                   "answer (coverage) and how many of those answers are wrong (risk).")
        st.dataframe(pd.DataFrame([{"style": r["style"], "seen in training": r["seen"], "refused": r["refused"],
                                    "read right": r.get("read_right"), "misread": r.get("misread")}
                                   for r in rep["rows"]]), hide_index=True, key="rf_table",
                     column_config={k: st.column_config.NumberColumn(format="percent")
                                    for k in ("refused", "read right", "misread")})
    pick = st.session_state.get("rf_pick")
    col = by_name.get(pick[0]) if pick else None
    if col is None:
        st.caption("No bar segment chosen yet: click one to see its images here.")
    else:
        style, outcome = pick
        chosen = suite.outcome_of(rep, col, outcome)
        st.subheader(f"{style}: {outcome.replace('_', ' ')} ({len(chosen)} images)")
        im = rep["images"][style]
        with st.container(key="rf_gallery"):
            if len(chosen):
                ui.gallery([col.images[i] for i in chosen[:PER_PAGE]],
                           [(f"true {col.labels[i]} · " if col.kind == "digit" else "") +
                            f"guess {im['guess'][i]} · {im['confidence'][i]:.0%}" for i in chosen[:PER_PAGE]])
            else:
                st.caption("No images here.")
    st.stop()

top = st.columns([2, 3, 1.3])
set_name = top[0].selectbox("Evaluated on", list(evaluate.SETS), key="cm_set",
                            format_func=lambda s: evaluate.SETS[s][0],
                            help="MNIST's own test digits, or test digits made to look like what people send "
                                 "(drawn on the canvas, photographed on paper) and preprocessed as the Draw page does.")
how = top[1].segmented_control("Show", list(VIEWS), format_func=VIEWS.get, default="count", key="cm_how") or "count"
hide = top[2].toggle("Hide the diagonal", key="cm_hide", help="The errors get the whole colour scale.")
if set_name != "mnist" and (mismatch := evaluate.preprocessing_mismatch(model.meta)):
    st.warning(f"**Scored with care**: {mismatch}")

name_a = Path(model.path).name
x, y, index = cache.evaluation_set(set_name)
try:
    probs = cache.probabilities(model.path, set_name)
except (BundleError, ServiceError) as e:
    st.warning(f"**{model.label}** could not be scored: {e}. Try again, or pick another model in the sidebar.")
    st.stop()
pred = probs.argmax(axis=1)
cm = evaluate.confusion_matrix(y, pred)
report = evaluate.metrics(probs, y, worst=0)

if view == "Map":
    try:
        fmap = cache.feature_map(model.path, set_name)
    except (BundleError, ServiceError) as e:
        st.warning(f"**{model.label}** could not map this set: {e}. Try again, or pick another model in the sidebar.")
        st.stop()
    coords = fmap["coords"]
    with st.container(key="map"):
        chosen = st.plotly_chart(figures.embedding(coords[:, :2], y, pred, fmap["refused"]), key="map_chart",
                                 on_select="rerun", selection_mode=("points", "box", "lasso"))
    st.caption(f"Each of the {len(y):,} images placed by **{model.label}**'s last hidden features (their two main "
               "axes, PCA; the baseline has no hidden layer, so its pixels). Digits the network tells apart lie "
               "apart; ✕ is a mistake, ○ an answer it refused. Click a point to open it, or pick the lasso or box "
               "tool above the map and draw round a group to see its images.")
    points = [int(p["customdata"][0]) for p in chosen.selection.points]
    if len(points) == 1:
        i = points[0]
        st.subheader(f"Image #{index[i]}: true {y[i]}, read {pred[i]}")
        a, b, c = st.columns([1, 3, 3])
        a.image(ui.enlarge(x[i], 6), caption=f"#{index[i]}: true {y[i]}, read {pred[i]}")
        b.plotly_chart(figures.probabilities(probs[i], int(pred[i])), key="map_probs", config={"displayModeBar": False})
        with c:
            near = inside.neighbours(coords, i)
            st.markdown("**Nearest in feature space**")
            ui.gallery([x[j] for j in near], [f"true {y[j]} → {pred[j]}" for j in near])
    elif points:
        st.subheader(f"{len(points):,} images selected" + (f", the first {PER_PAGE} shown" if len(points) > PER_PAGE else ""))
        with st.container(key="map_gallery"):
            ui.gallery([x[i] for i in points[:PER_PAGE]], [f"true {y[i]} → {pred[i]}" for i in points[:PER_PAGE]])
    st.stop()


def pick_cell(true: int | None, predicted: int | None) -> None:
    st.session_state["cm_cell"] = None if true is None else (int(true), int(predicted))
    st.session_state["cm_page"] = 1


def clicked() -> None:
    """A click on the heatmap: its cell's images below."""
    points = st.session_state["cm_chart"].selection.points
    if points:
        pick_cell(*points[0]["customdata"][:2])


def pair_chosen() -> None:
    rows = st.session_state["cm_pairs"].selection.rows
    if rows:
        pair = pairs[rows[0]]
        pick_cell(pair["true"], pair["predicted"])


m = st.columns([1, 1, 2])
m[0].metric("Accuracy", f"{report['accuracy']:.2%}")
m[1].metric("Mistakes", f"{report['errors']:,} of {report['images']:,}")
m[2].caption(f"**{model.label}** on the {evaluate.SETS[set_name][0]}. Probabilities are computed once per "
             "model and set, then kept.")

cell = st.session_state.get("cm_cell")
chart, side = st.columns([3, 2], gap="large")
with chart:
    st.plotly_chart(figures.confusion(cm, "", how, hide, clickable=True, selected=cell), key="cm_chart",
                    on_select=clicked, selection_mode="points", config={"displayModeBar": False})
    st.caption("Click a cell to see its images below. Rows: the true digit; columns: the model's answer.")
with side:
    st.markdown("**Most confused pairs** (select one to see its images)")
    pairs = evaluate.confused_pairs(cm)
    st.dataframe(pd.DataFrame(pairs, columns=["true", "predicted", "count", "share of true"]), key="cm_pairs",
                 hide_index=True, on_select=pair_chosen, selection_mode="single-row",
                 column_config={"share of true": st.column_config.NumberColumn(format="percent")})
    st.markdown("**Per digit**")
    st.dataframe(pd.DataFrame(report["per_class"]), hide_index=True, key="cm_per_class",
                 column_config={k: st.column_config.NumberColumn(format="%.4f") for k in ("precision", "recall", "f1")})

st.divider()
rows = evaluate.mistake_rows(probs, y, index, *(cell or (None, None)))
head, clear = st.columns([4, 1])
with head:
    if cell:
        st.subheader(f"True {cell[0]}, read as {cell[1]}: {len(rows):,} image{'s' * (len(rows) != 1)}")
    else:
        st.subheader(f"All mistakes: {len(rows):,}, most confident first")
if cell:
    clear.button("Show all mistakes", on_click=pick_cell, args=(None, None), key="cm_all")


@st.fragment
def gallery(rows: list) -> None:
    """The images, a page at a time, and a closer look at one: a new page reruns only this part."""
    pages = max(1, -(-len(rows) // PER_PAGE))
    page = st.number_input(f"Page (of {pages}, {PER_PAGE} images each)", 1, pages, key="cm_page") if pages > 1 else 1
    shown = rows[(page - 1) * PER_PAGE: page * PER_PAGE]
    with st.container(key="gallery"):
        if shown:
            ui.gallery([x[r["position"]] for r in shown],
                       [f"true {r['true']} → {r['predicted']} · {r['confidence']:.0%} · 2nd {r['second choice']}"
                        for r in shown])
        else:
            st.caption("No images here.")

    closer = st.expander("Look closer at one image: its probabilities, and which pixels drove the answer",
                         key="cm_closer", on_change="rerun")
    if shown and closer.open:  # computed only while open
        with closer:
            r = st.selectbox("Image", shown, key="cm_pick", format_func=lambda r: (
                f"test #{r['test index']}: true {r['true']}, read {r['predicted']} ({r['confidence']:.1%})"))
            image = x[r["position"]]
            a, b, c = st.columns([3, 1, 1])
            a.plotly_chart(figures.probabilities(probs[r["position"]], r["predicted"]), key="cm_probs",
                           config={"displayModeBar": False})
            b.image(ui.enlarge(image, 6), caption="what the network saw")
            try:
                c.image(figures.saliency(image, cache.service().saliency(model.path, image, r["predicted"])),
                        caption=f"occlusion saliency for {r['predicted']}: orange ink, when hidden, lowers the answer most")
            except (BundleError, ServiceError) as e:
                c.warning(f"No saliency map: {e}")
            flagged = flags.read_flags(cache.flags_path())
            key = str(r["test index"])
            if key in flagged:
                st.info(f"You flagged test #{key}'s label ({r['true']}) as looking wrong.")
                st.button("Unflag", on_click=flags.set_flag, args=(cache.flags_path(), r["test index"], None),
                          key="cm_unflag")
            else:
                st.button(f"This label looks wrong: it is not a {r['true']}", key="cm_flag",
                          on_click=flags.set_flag, args=(cache.flags_path(), r["test index"],
                                                            {"label": r["true"], "model said": r["predicted"]}),
                          help="MNIST's test set has a few mislabelled digits. Flags are kept in your digitrec folder.")
            if flagged:
                st.download_button(f"Download the {len(flagged)} flagged labels (JSON)", flags.flags_json(flagged),
                                   "label_flags.json", "application/json", key="cm_flags_csv")


gallery(rows)

d1, d2 = st.columns(2)
d1.download_button("Confusion matrix (CSV)", pd.DataFrame(cm, index=figures.DIGITS, columns=figures.DIGITS)
                   .rename_axis("true \\ predicted").to_csv(), f"confusion-{name_a}-{set_name}.csv",
                   "text/csv", key="cm_csv")
d2.download_button("Mistakes (CSV)", pd.DataFrame(
    evaluate.mistake_rows(probs, y, index), columns=["test index", "true", "predicted", "confidence"]).to_csv(index=False),
    f"mistakes-{name_a}-{set_name}.csv", "text/csv", key="mistakes_csv")

st.divider()
st.subheader("Two models side by side")
others = {p: label for p, label in cache.usable()[0].items() if p != model.path}
if not others:
    st.caption("There is no other model to compare with.")
else:
    other_path = st.selectbox(f"Compare {name_a} with", list(others), format_func=others.get,
                              key="cm_other")
    other = cache.load(other_path)
    if other.error:
        st.warning(f"**{other.label}** cannot be loaded: {other.error}")
    else:
        try:
            probs_b = cache.probabilities(other.path, set_name)
        except (BundleError, ServiceError) as e:
            st.warning(f"**{other.label}** could not be scored: {e}")
            st.stop()
        diff = evaluate.difference(y, probs, probs_b)
        name_b = Path(other.path).name
        left, right = st.columns([2, 3])
        with left, st.container(key="diff_counts"):
            st.metric(f"{name_b} fixes", f"{len(diff['fixed']):,}", help=f"images {name_a} reads wrong and {name_b} right")
            st.metric(f"{name_b} breaks", f"{len(diff['broken']):,}", help=f"images {name_a} reads right and {name_b} wrong")
            st.caption(f"Net: {len(diff['fixed']) - len(diff['broken']):+,} images read right by {name_b}.")
        right.plotly_chart(figures.difference(diff["matrix"], f"{name_b} minus {name_a}"), key="cm_diff",
                           config={"displayModeBar": False})
        fixed_tab, broken_tab = st.tabs([f"Fixed by {name_b} ({len(diff['fixed'])})",
                                         f"Broken by {name_b} ({len(diff['broken'])})"])
        for tab, which, key in ((fixed_tab, diff["fixed"], "fixed"), (broken_tab, diff["broken"], "broken")):
            with tab, st.container(key=f"gallery_{key}"):
                first = which[:PER_PAGE]
                if len(first):
                    ui.gallery([x[i] for i in first],
                               [f"true {y[i]}: {name_a} {probs[i].argmax()} → {name_b} {probs_b[i].argmax()}" for i in first])
                    if len(which) > PER_PAGE:
                        st.caption(f"The first {PER_PAGE} of {len(which)}.")
                else:
                    st.caption("None.")
