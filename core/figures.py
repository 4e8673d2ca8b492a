"""Plotly figures shared by the dashboard and the CLI's HTML report: one look everywhere."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .evaluate import normalised
from .decode import open_image, reduce

DIGITS = [str(d) for d in range(10)]


def confusion(cm, title: str = "", how: str = "count", hide_diagonal: bool = False, clickable: bool = False,
              selected: tuple | None = None) -> go.Figure:
    """Heatmap of true (rows) against predicted (columns). In the count view `z` holds the counts;
    `how` = "recall" / "precision" shows shares of each row / column instead. The colour scale is
    logarithmic in effect (stops at 0.1%, 1%, 10% of the largest cell) so the few errors show
    beside the large diagonal; `hide_diagonal` leaves the diagonal blank, so the errors get the
    whole scale. `clickable` lays a transparent square marker on every cell (Plotly can select
    scatter points, not heatmap cells): a click on a cell selects it; `selected` (true, predicted)
    is outlined."""
    cm = np.asarray(cm)
    share = normalised(cm, "recall") * 100  # for the hover, whatever the view
    shown = cm if how == "count" else normalised(cm, how)
    z = shown.astype(object) if hide_diagonal else shown
    if hide_diagonal:
        np.fill_diagonal(z, None)
    text = cm if how == "count" else np.vectorize(lambda v: f"{v:.1%}" if v else "")(shown)
    fig = go.Figure(go.Heatmap(
        z=z, x=DIGITS, y=DIGITS, text=text, texttemplate="%{text}", showscale=False, hoverongaps=False,
        colorscale=[[0, "#ffffff"], [0.001, "#deebf7"], [0.01, "#9ecae1"], [0.1, "#4292c6"], [1, "#08306b"]],
        customdata=np.dstack([cm, share]),
        hovertemplate="true %{y}, predicted %{x}: %{customdata[0]} (%{customdata[1]:.1f}% of row)<extra></extra>"))
    if clickable:
        fig.data[0].hoverinfo = "skip"  # the markers take the pointer (a heatmap's hover would win the click)
        fig.data[0].hovertemplate = None
        cells = [(t, p) for t in range(len(cm)) for p in range(len(cm))]
        fig.add_trace(go.Scatter(
            x=[DIGITS[p] for _, p in cells], y=[DIGITS[t] for t, _ in cells], mode="markers",
            customdata=[[t, p, int(cm[t, p]), share[t, p]] for t, p in cells], name="cells", showlegend=False,
            marker=dict(symbol="square", size=38, color="rgba(0,0,0,0)",
                        line=dict(width=[3 if (t, p) == selected else 0 for t, p in cells], color="#e4572e")),
            selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1)),
            hovertemplate="true %{customdata[0]}, predicted %{customdata[1]}: %{customdata[2]} "
                          "(%{customdata[3]:.1f}% of row)<br>click to see these images<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="predicted", yaxis_title="true", width=560, height=520,
                      margin=dict(l=50, r=20, t=50, b=50), clickmode="event+select", dragmode=False)
    n = len(cm)  # fixed ranges: the markers' size must not pad the axes off the cells
    fig.update_xaxes(type="category", range=[-0.5, n - 0.5], constrain="domain")
    fig.update_yaxes(type="category", range=[n - 0.5, -0.5], scaleanchor="x", constrain="domain")
    return fig


def difference(diff, title: str = "") -> go.Figure:
    """Model B's confusion matrix minus model A's: on the diagonal, more read right (blue) or
    fewer (red); off it, more of that error (red) or fewer (blue)."""
    diff = np.asarray(diff)
    good = diff * np.where(np.eye(len(diff), dtype=bool), 1, -1)  # > 0 where B is better
    fig = go.Figure(go.Heatmap(
        z=good, x=DIGITS, y=DIGITS, text=diff, texttemplate="%{text:+d}", zmid=0, colorscale="RdBu",
        showscale=False, customdata=diff,
        hovertemplate="true %{y}, predicted %{x}: %{customdata:+d} images<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="predicted", yaxis_title="true", width=480, height=460,
                      margin=dict(l=50, r=20, t=50, b=50))
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category", autorange="reversed", scaleanchor="x")
    return fig


def saliency(image, heat) -> np.ndarray:
    """The 28x28 input in grey with the saliency map over it in orange, enlarged: RGB uint8."""
    img = np.asarray(image, float) / 255
    h = np.asarray(heat, float)
    h = h / h.max() if h.max() > 0 else h
    rgb = np.stack([img * 0.6 + h * 0.9, img * 0.6 + h * 0.34, img * 0.6 + h * 0.18], axis=-1)
    rgb = (np.clip(rgb, 0, 1) * 255).astype(np.uint8)
    return np.kron(rgb, np.ones((6, 6, 1), np.uint8))


def probabilities(probs, highlight: int | None = None, title: str = "") -> go.Figure:
    """The ten class probabilities as bars; the answer's bar in the accent colour."""
    probs = np.asarray(probs, float)
    colours = ["#e4572e" if d == highlight else "#8aa1b1" for d in range(10)]
    fig = go.Figure(go.Bar(x=DIGITS, y=probs, marker_color=colours,
                           hovertemplate="%{x}: %{y:.1%}<extra></extra>"))
    fig.update_layout(title=title, yaxis=dict(range=[0, 1], tickformat=".0%"), xaxis_type="category",
                      height=220, margin=dict(l=40, r=10, t=30 if title else 10, b=30), showlegend=False)
    return fig


def history(hist: dict, title: str = "") -> go.Figure:
    """Loss and accuracy per epoch, training and validation, side by side."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"))
    for col, key in ((1, "loss"), (2, "accuracy")):
        for prefix, label, dash in (("", "train", "solid"), ("val_", "validation", "dot")):
            values = hist.get(prefix + key) or []
            if values:
                fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines+markers",
                                         name=label, line_dash=dash, legendgroup=label, showlegend=col == 1),
                              row=1, col=col)
    fig.update_xaxes(title_text="epoch", dtick=1)
    fig.update_layout(title=title, height=320, margin=dict(l=40, r=10, t=60, b=40))
    return fig


def curves(histories: dict, title: str = "") -> go.Figure:
    """Several runs' learning curves overlaid: {run name: Keras history}. Loss and accuracy side
    by side; a colour per run, solid for training, dotted for validation."""
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"))
    for i, (name, hist) in enumerate(histories.items()):
        colour = qualitative.Plotly[i % len(qualitative.Plotly)]
        for col, key in ((1, "loss"), (2, "accuracy")):
            for prefix, label, dash in (("", "train", "solid"), ("val_", "validation", "dot")):
                values = hist.get(prefix + key) or []
                if values:
                    fig.add_trace(go.Scatter(
                        x=list(range(1, len(values) + 1)), y=values, mode="lines+markers", line=dict(color=colour, dash=dash),
                        name=f"{name} ({label})", legendgroup=name, showlegend=col == 2,
                        hovertemplate=f"{name}, {label}<br>epoch %{{x}}: %{{y:.4f}}<extra></extra>"), row=1, col=col)
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(title=title, height=360, margin=dict(l=40, r=10, t=60, b=40), legend=dict(font_size=10))
    return fig


def sweep(rows: list, x: str, title: str = "") -> go.Figure:
    """Test accuracy against one setting (`x`: a key of the rows, e.g. "hidden units" or "epochs"),
    a marker per run and a line per model kind, so a learner sees where the curve flattens."""
    fig = go.Figure()
    for kind in sorted({r["model"] for r in rows}):
        pts = sorted((r[x], r["test_accuracy"], r["name"]) for r in rows
                     if r["model"] == kind and r.get(x) is not None and r.get("test_accuracy") is not None)
        if pts:
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], text=[p[2] for p in pts],
                                     mode="lines+markers", name=kind,
                                     hovertemplate="%{text}<br>" + x + " %{x}: %{y:.2%}<extra></extra>"))
    ys = [y for t in fig.data for y in t.y]
    span = [max(0.0, min(ys) - 0.01), min(1.0, max(ys) + 0.01)] if ys else [0, 1]
    fig.update_layout(title=title, xaxis_title=x, yaxis=dict(title="test accuracy", tickformat=".1%", range=span),
                      height=320, margin=dict(l=50, r=10, t=40 if title else 10, b=40))
    if x == "hidden units":
        fig.update_xaxes(type="log")
    return fig


def mistakes(x: np.ndarray, rows: list, cols: int = 9) -> go.Figure:
    """A grid of mistaken digits, each titled true→predicted and confidence."""
    from plotly.subplots import make_subplots

    n = max(1, len(rows))
    r = -(-n // cols)
    titles = [f"{m['true']}→{m['predicted']} {m['confidence']:.0%}" for m in rows]
    fig = make_subplots(rows=r, cols=cols, subplot_titles=titles or ["no mistakes"],
                        horizontal_spacing=0.01, vertical_spacing=0.3 / r)
    for k, m in enumerate(rows):
        fig.add_trace(go.Heatmap(z=x[m["index"]][::-1], colorscale="gray_r", showscale=False, hoverinfo="skip"),
                      row=k // cols + 1, col=k % cols + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    fig.update_layout(title="worst mistakes: true→predicted, confidence", height=110 * r + 60,
                      margin=dict(l=10, r=10, t=60, b=10))
    fig.update_annotations(font_size=10)
    return fig


def thumbnail(image, max_side: int = 640):
    """(RGB PIL image at most `max_side` across, its scale) of anything `decode.open_image` reads.
    Reduced in the file's own mode, then converted: a big RGBA or 16-bit image never gets a
    full-size RGB copy (palettes and 1-bit images resize only by nearest neighbour: they convert first)."""
    img = open_image(image)
    img = img.convert("RGB") if img.mode in ("1", "P") else img
    scale = min(1.0, max_side / max(img.size))
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    if scale < 1 and img.mode in ("RGBA", "LA"):  # resizing these premultiplies into a full-size copy:
        img = reduce(img, int(1 / scale) // 2)  # block averages first, a band at a time, to within 2x
    return (img.resize(size) if scale < 1 else img).convert("RGB"), scale


def boxed(image, boxes, labels, max_side: int = 640) -> np.ndarray:
    """The image at most `max_side` across, with a labelled box drawn around each digit: what the
    reader found, and where."""
    from PIL import ImageDraw

    img, scale = thumbnail(image, max_side)
    draw = ImageDraw.Draw(img)
    for (x, y, w, h), text in zip(boxes, labels):
        x0, y0, x1, y1 = x * scale, y * scale, (x + w) * scale, (y + h) * scale
        draw.rectangle((x0, y0, x1, y1), outline="#e4572e", width=2)
        draw.text((x0 + 2, max(0, y0 - 12)), text, fill="#e4572e")
    return np.asarray(img)


# Colours of the refusal view: answered right, answered wrong, then one per test that refused.
OUTCOME_COLOURS = {"read right": "#4c9f70", "misread": "#e4572e", "thickness": "#6b4c9a", "other": "#3b6ea5",
                   "gate": "#7fa7d1", "novelty": "#b4c7e7", "low_confidence": "#f2b134", "blank": "#bbbbbb",
                   "sparse": "#d9d9d9"}


def refusals(rows: list, title: str = "") -> go.Figure:
    """Per style, a stacked bar of its images: read right, misread, and refused split by the test
    that refused (digits); for non-digits the share given a digit, then the refusals. A bar
    segment carries (style, outcome) as customdata: a click selects that segment's images."""
    styles_ = [("" if r["seen"] else "◆ ") + r["style"] for r in rows]
    fig = go.Figure()
    outcomes = ["read right", "misread", *[k for k in OUTCOME_COLOURS if k not in ("read right", "misread")]]
    for outcome in outcomes:
        values = []
        for r in rows:
            if outcome == "read right":
                values.append(r.get("read_right", 0.0))
            elif outcome == "misread":
                values.append(r.get("misread", r.get("given_a_digit", 0.0)))
            else:
                values.append(r["by"].get(outcome, 0.0))
        if not any(values):
            continue
        name = "given a digit (non-digits) / misread" if outcome == "misread" else outcome.replace("_", " ")
        fig.add_trace(go.Bar(
            y=styles_, x=values, orientation="h", name=name, marker_color=OUTCOME_COLOURS[outcome],
            customdata=[[r["style"], outcome] for r in rows],
            hovertemplate="%{y}: %{x:.1%} " + name + "<extra></extra>"))
    fig.update_layout(barmode="stack", title=title, height=max(320, 22 * len(rows) + 80),
                      xaxis=dict(tickformat=".0%", range=[0, 1]), yaxis=dict(autorange="reversed"),
                      margin=dict(l=110, r=10, t=40 if title else 10, b=30), legend=dict(orientation="h", y=-0.08),
                      clickmode="event+select", dragmode=False)
    return fig


def risk_coverage(curve: dict, point: tuple | None = None, title: str = "") -> go.Figure:
    """Share of digits answered against the share of those answers that are wrong, as the
    confidence threshold moves; `point` (coverage, risk) marks where the model operates."""
    fig = go.Figure(go.Scatter(x=curve["coverage"], y=curve["risk"], mode="lines", name="as the threshold moves",
                               customdata=curve["threshold"],
                               hovertemplate="answers %{x:.1%} of digits, %{y:.2%} of them wrong "
                                             "(threshold %{customdata:.3f})<extra></extra>"))
    if point is not None:
        fig.add_trace(go.Scatter(x=[point[0]], y=[point[1]], mode="markers", name="shipped operating point",
                                 marker=dict(size=12, color="#e4572e", symbol="diamond"),
                                 hovertemplate="operating point: answers %{x:.1%}, %{y:.2%} wrong<extra></extra>"))
    fig.update_layout(title=title, xaxis=dict(title="coverage: digits answered", tickformat=".0%"),
                      yaxis=dict(title="risk: answers wrong", tickformat=".1%", rangemode="tozero"),
                      height=340, margin=dict(l=60, r=10, t=40 if title else 10, b=40), legend=dict(orientation="h", y=-0.25))
    return fig


# ---------------------------------------------------------------- inside the network
def tiles(images, diverging: bool = True, side: int = 84) -> list[np.ndarray]:
    """Small images as RGB tiles, enlarged to about `side` pixels (nearest: each pixel stays a block), on
    one colour scale for the lot. `diverging`: blue (negative) - white (0) - red (positive), for
    weights and contributions (red raises the class or unit, blue lowers it); else black to white,
    for activations. Images, not a Plotly chart: the Inside view is on screen in a fraction of
    the time (four charts of 16 tiles took ~200 ms to draw in the browser)."""
    x = np.asarray(images, np.float32)
    if diverging:
        t = np.clip(x / max(float(np.abs(x).max(initial=0)), 1e-12), -1, 1)[..., None]
        red, white, blue = np.array([178, 24, 43], np.float32), np.float32(255), np.array([33, 102, 172], np.float32)
        rgb = np.where(t >= 0, white + t * (red - white), white - t * (blue - white))
    else:
        top = max(float(x.max(initial=0)), 1e-12)
        rgb = np.repeat(np.clip(x / top, 0, 1)[..., None] * 255, 3, axis=-1)
    scale = max(1, round(side / max(1, x.shape[-1])))
    rgb = np.kron(rgb.astype(np.uint8), np.ones((1, scale, scale, 1), np.uint8))
    return list(rgb)


def tile_grid(images, labels, cols: int = 10, diverging: bool = True, side: int = 84) -> np.ndarray:
    """The tiles of `tiles` in one RGB image, `cols` a row, each under its label: one picture per
    panel, so the browser fetches one file, not one per tile."""
    from PIL import Image, ImageDraw

    small = tiles(images, diverging, side)
    if not small:
        return np.full((1, 1, 3), 255, np.uint8)
    th, tw = small[0].shape[:2]
    label_h, gap = 14, 4
    rows = -(-len(small) // cols)
    grid = Image.new("RGB", (cols * (tw + gap), rows * (th + label_h + gap)), "white")
    draw = ImageDraw.Draw(grid)
    for k, (tile, text) in enumerate(zip(small, labels)):
        x, y = (k % cols) * (tw + gap), (k // cols) * (th + label_h + gap)
        draw.text((x + tw / 2, y + label_h / 2), str(text), fill=(60, 60, 60), anchor="mm")
        grid.paste(Image.fromarray(tile), (x, y + label_h))
    return np.asarray(grid)


def learning(epochs, accuracy, at: int | None = None, title: str = "") -> go.Figure:
    """Validation accuracy at each snapshot; `at` marks the epoch shown."""
    fig = go.Figure(go.Scatter(x=list(epochs), y=list(accuracy), mode="lines+markers", name="validation",
                               hovertemplate="epoch %{x}: %{y:.2%}<extra></extra>"))
    if at is not None:
        fig.add_vline(x=at, line_dash="dot")
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title="validation accuracy", yaxis_tickformat=".0%",
                      height=260, margin=dict(l=0, r=0, t=40, b=0))
    return fig


def embedding(xy, y, pred, refused, title: str = "") -> go.Figure:
    """The set on its two main feature axes, one colour per true digit; mistakes drawn as crosses,
    refused images as open circles. Each point's customdata is its position in the set."""
    xy, y, pred, refused = np.asarray(xy), np.asarray(y), np.asarray(pred), np.asarray(refused, bool)
    fig = go.Figure()
    for d in range(10):
        k = np.flatnonzero(y == d)
        wrong, held = pred[k] != d, refused[k]
        fig.add_trace(go.Scattergl(
            x=xy[k, 0], y=xy[k, 1], mode="markers", name=str(d), customdata=np.stack([k, pred[k]], axis=1).tolist(),
            marker=dict(size=np.where(wrong, 9, 4), symbol=np.where(wrong, "x", np.where(held, "circle-open", "circle")),
                        line=dict(width=1)),
            hovertemplate=f"true {d}, read %{{customdata[1]}} · #%{{customdata[0]}}<extra></extra>"))
    fig.update_layout(title=title, height=560, legend_title_text="true digit",
                      xaxis_title="main axis 1", yaxis_title="main axis 2", margin=dict(l=0, r=0, t=40, b=0))
    return fig
