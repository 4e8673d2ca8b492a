"""Realistic test images made from MNIST digits: photos of ink on paper, canvas drawings, numbers,
blank pages and things that are not digits. Used to calibrate (on validation digits) and to
benchmark (on test digits); never to train. The gate (gate.py) borrows `digit_patch` and
`ink_on_paper` to draw its own training images from training digits, with its own non-digits.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

DRAW_LEVEL = 128  # a drawing follows the MNIST digit where it is at least this bright (of 255)
KINDS = ("photo", "canvas", "number", "blank", "nondigit")
# Letters that no careful reader would take for a digit (no O/0, I/1, S/5, Z/2, B/8, G/6, q/9 ...).
LETTERS = "ACEFHKMNPRUVWXYaefhkmnprtuvwxy#%&@?"


@dataclass(frozen=True)
class Sample:
    kind: str
    data: bytes  # an encoded image file, as a user would upload it
    label: str | None  # the digits it shows ("" for blank, None for non-digits)


def digit_patch(digit: np.ndarray, height: int, rng) -> Image.Image:
    """An MNIST digit (white on black) scaled up smoothly, slightly rotated."""
    img = Image.fromarray(digit).resize((height, height), Image.Resampling.BICUBIC)
    return img.rotate(float(rng.uniform(-10, 10)), resample=Image.Resampling.BILINEAR)


def _paper(w: int, h: int, rng) -> np.ndarray:
    """Light paper, slightly tinted, lit unevenly (a gradient and a soft spot), as RGB floats."""
    base = rng.uniform(190, 250) + rng.uniform(-12, 12, 3)
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    angle = rng.uniform(0, 2 * np.pi)
    light = 1 - rng.uniform(0.1, 0.4) * (np.cos(angle) * xx + np.sin(angle) * yy)
    cy, cx = rng.uniform(0, 1, 2)
    light *= 1 - rng.uniform(0, 0.2) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) * 8)
    return np.clip(base[None, None, :] * light[..., None], 0, 255)


def ink_on_paper(ink: np.ndarray, rng) -> Image.Image:
    """Ink strength map (0..1) -> photo: dark or blue ink, noise, blur, JPEG artefacts."""
    h, w = ink.shape
    paper = _paper(w, h, rng)
    colour = np.array([[20, 20, 25], [25, 40, 150], [40, 40, 60]][rng.integers(3)], float)
    strength = rng.uniform(0.75, 1.0)
    a = (ink * strength)[..., None]
    img = paper * (1 - a) + colour * a + rng.normal(0, rng.uniform(2, 8), (h, w, 1))
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    if rng.random() < 0.5:
        pil = pil.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    return pil


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    """The image as a camera or scanner delivers it: JPEG-compressed at `quality`, decoded."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue()))


def _encode(img: Image.Image, fmt: str, rng) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        img.save(buf, "JPEG", quality=int(rng.integers(40, 90)))
    else:
        img.save(buf, fmt)
    return buf.getvalue()


def photo(digit: np.ndarray, rng) -> bytes:
    w, h = int(rng.integers(120, 640)), int(rng.integers(120, 640))
    size = int(rng.uniform(0.25, 0.8) * min(w, h))
    patch = np.asarray(digit_patch(digit, size, rng), float) / 255
    ink = np.zeros((h, w))
    y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    ink[y: y + size, x: x + size] = patch
    return _encode(ink_on_paper(ink, rng), "JPEG", rng)


def canvas(digit: np.ndarray, rng) -> bytes:
    """Light strokes on a dark 280x280 canvas, drawn anywhere, any size; sometimes transparent."""
    size = int(rng.integers(70, 260))
    patch = digit_patch(digit, size, rng)
    if rng.random() < 0.5:
        patch = patch.filter(ImageFilter.MaxFilter(3))  # fat brush
    ink = np.zeros((280, 280), np.uint8)
    y, x = int(rng.integers(0, 281 - size)), int(rng.integers(0, 281 - size))
    ink[y: y + size, x: x + size] = np.asarray(patch)
    if rng.random() < 0.3:  # a drawing app's PNG: strokes on a transparent background
        rgba = np.zeros((280, 280, 4), np.uint8)
        rgba[..., :3] = 255 if rng.random() < 0.5 else 0
        rgba[..., 3] = ink
        return _encode(Image.fromarray(rgba, "RGBA"), "PNG", rng)
    return _encode(Image.fromarray(ink), "PNG", rng)


def skeleton(mask: np.ndarray) -> np.ndarray:
    """The one-pixel centre line of a binary shape (Zhang-Suen thinning, vectorised)."""
    img = mask.astype(np.uint8)
    offsets = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))  # P2..P9, clockwise
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            padded = np.pad(img, 1)
            h, w = img.shape
            p = [padded[1 + dy: 1 + dy + h, 1 + dx: 1 + dx + w] for dy, dx in offsets]
            neighbours = sum(p)
            transitions = sum((p[k] == 0) & (p[(k + 1) % 8] == 1) for k in range(8))
            p2, p4, p6, p8 = p[0], p[2], p[4], p[6]
            cond = ((p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)) if step == 0 else \
                   ((p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0))
            remove = (img == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & cond
            if remove.any():
                img[remove] = 0
                changed = True
    return img.astype(bool)


def brush_drawing(digit: np.ndarray, rng, brush: float, side: int = 280, parts: bool = False) -> np.ndarray:
    """An MNIST digit as a person draws it on a `side`x`side` canvas: its centre line traced with
    a round brush `brush` px wide, white on black, slightly rotated, anywhere on the canvas. The
    digit is 35% to 90% of the canvas tall, and at least four brush widths (nobody writes a digit
    as tall as the brush is wide). `parts`: the image is a sign, not a digit, and each of its
    separate parts is drawn however small (the dot of ! and ?). Returns the 8-bit canvas."""
    from scipy import ndimage as ndi

    fine = np.asarray(Image.fromarray(digit).resize((112, 112), Image.Resampling.BICUBIC))  # smoother lines
    line = skeleton(fine > DRAW_LEVEL)
    # A hand draws strokes, not specks: drop pieces of line far shorter than the longest one ...
    labels, n = ndi.label(line, structure=np.ones((3, 3)))
    if n > 1:
        sizes = np.bincount(labels.ravel())[1:]
        keep = sizes >= 0.15 * sizes.max()
        if parts:  # ... but each separate part of a sign is drawn however small (the dot of ! and ?):
            # its longest piece of line. Parts are read a little below the line's own threshold,
            # so that a stroke's end the threshold broke off stays with its stroke (and dropped).
            part = ndi.label(fine > DRAW_LEVEL * 3 // 4, structure=np.ones((3, 3)))[0]
            for p in np.unique(part[line]):
                within = np.unique(labels[line & (part == p)])
                keep[within[np.argmax(sizes[within - 1])] - 1] = True
        line = np.isin(labels, 1 + np.flatnonzero(keep))
    ys, xs = np.nonzero(line)
    if ys.size == 0:
        return np.zeros((side, side), np.uint8)
    height = rng.uniform(max(0.35 * side, 4 * brush), 0.9 * side)
    scale = min(height / (np.ptp(ys) + 1), (0.95 * side - brush) / (np.ptp(xs) + 1))
    angle = np.deg2rad(rng.uniform(-10, 10))
    cy, cx = ys.mean(), xs.mean()
    py = ((ys - cy) * np.cos(angle) + (xs - cx) * np.sin(angle)) * scale
    px = ((xs - cx) * np.cos(angle) - (ys - cy) * np.sin(angle)) * scale
    margin = brush / 2 + 1
    span_y, span_x = np.ptp(py) + 2 * margin, np.ptp(px) + 2 * margin
    oy = rng.uniform(0, max(0.0, side - span_y)) + margin - py.min()
    ox = rng.uniform(0, max(0.0, side - span_x)) + margin - px.min()
    hi = 2  # draw at twice the size, then area-average down: anti-aliased edges like the canvas's
    img = Image.new("L", (side * hi, side * hi), 0)
    draw = ImageDraw.Draw(img)
    r = brush * hi / 2
    pts = {(y, x): ((ox + qx) * hi, (oy + qy) * hi) for y, x, qy, qx in zip(ys, xs, py, px)}
    for (y, x), (X, Y) in pts.items():
        draw.ellipse((X - r, Y - r, X + r, Y + r), fill=255)
        for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):  # each neighbouring pair once
            if (y + dy, x + dx) in pts:
                draw.line([(X, Y), pts[(y + dy, x + dx)]], fill=255, width=int(round(2 * r)))
    return np.asarray(img.reduce(hi))


def drawings(x: np.ndarray, y: np.ndarray, n: int, brushes=(8, 40), seed: int = 0) -> list[tuple[bytes, int, int]]:
    """`n` canvas drawings of digits from (x, y), each with a brush width drawn evenly from
    `brushes` (px on a 280 canvas), as the canvas sends them (RGBA PNG): (png, label, brush)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        i, brush = int(rng.integers(len(x))), int(rng.integers(brushes[0], brushes[1] + 1))
        ink = brush_drawing(x[i], rng, brush)
        rgba = np.dstack([ink, ink, ink, np.full_like(ink, 255)])
        out.append((_encode(Image.fromarray(rgba, "RGBA"), "PNG", rng), int(y[i]), brush))
    return out


def number(digits: list, rng) -> bytes:
    """2-6 digits written side by side on paper, with a slight slope."""
    height = int(rng.integers(40, 110))
    gap = rng.uniform(0.05, 0.3)
    slope = rng.uniform(-0.08, 0.08)
    w = int(len(digits) * height * 0.8 + 2 * height)
    h = int(height * 2.2 + abs(slope) * w)
    ink = np.zeros((h, w))
    x = height // 2
    y0 = h // 2 - height // 2
    for d in digits:
        patch = np.asarray(digit_patch(d, height, rng), float) / 255
        cols = np.flatnonzero(patch.max(axis=0) > 0.2)
        patch = patch[:, cols.min(): cols.max() + 1] if cols.size else patch
        y = int(np.clip(y0 + slope * x + rng.integers(-3, 4), 0, h - height))
        pw = min(patch.shape[1], w - x)
        ink[y: y + height, x: x + pw] = np.maximum(ink[y: y + height, x: x + pw], patch[:, :pw])
        x += pw + max(2, int(gap * height))
    return _encode(ink_on_paper(ink[:, : min(w, x + height // 2)], rng), "JPEG", rng)


def blank(rng) -> bytes:
    w, h = int(rng.integers(120, 640)), int(rng.integers(120, 640))
    if rng.random() < 0.3:
        return _encode(Image.new("L", (280, 280), 0), "PNG", rng)  # an untouched canvas
    return _encode(ink_on_paper(np.zeros((h, w)), rng), "JPEG", rng)


def nondigit(rng) -> bytes:
    """A letter or symbol, a scribble, or a shape: ink that is not a digit."""
    size = 200
    img = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(img)
    choice = rng.integers(3)
    if choice == 0:
        font = ImageFont.load_default(size=int(rng.integers(90, 150)))
        draw.text((size / 2, size / 2), LETTERS[rng.integers(len(LETTERS))], fill=255, font=font, anchor="mm")
    elif choice == 1:  # a scribble: a random walk with momentum
        pts, p, v = [], np.array([100.0, 100.0]), rng.normal(0, 12, 2)
        for _ in range(int(rng.integers(25, 60))):
            v = 0.8 * v + rng.normal(0, 10, 2)
            p = np.clip(p + v, 10, 190)
            pts.append(tuple(p))
        draw.line(pts, fill=255, width=int(rng.integers(6, 14)), joint="curve")
    else:  # a filled shape or a grid
        if rng.random() < 0.5:
            draw.ellipse((30, 50, 170, 150), fill=255)
            draw.rectangle((60, 20, 140, 180), fill=255)
        else:
            for k in range(40, 180, 35):
                draw.line((k, 20, k, 180), fill=255, width=8)
                draw.line((20, k, 180, k), fill=255, width=8)
    ink = np.asarray(img, float) / 255
    if rng.random() < 0.5:
        return _encode(img.resize((280, 280)), "PNG", rng)
    pad = int(rng.integers(20, 200))
    return _encode(ink_on_paper(np.pad(ink, pad), rng), "JPEG", rng)


def generate(x: np.ndarray, y: np.ndarray, per_kind: int, seed: int = 0) -> list[Sample]:
    """`per_kind` samples of each kind, digits drawn from (x, y)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(per_kind):
        i = int(rng.integers(len(x)))
        out.append(Sample("photo", photo(x[i], rng), str(y[i])))
        j = int(rng.integers(len(x)))
        out.append(Sample("canvas", canvas(x[j], rng), str(y[j])))
        idx = rng.integers(len(x), size=int(rng.integers(2, 7)))
        out.append(Sample("number", number([x[k] for k in idx], rng), "".join(str(y[k]) for k in idx)))
        out.append(Sample("blank", blank(rng), ""))
        out.append(Sample("nondigit", nondigit(rng), None))
    return out
