"""Simple marks a person might send that are not digits (or are ambiguous), and what a bundle says.

    python benchmarks/probe_shapes.py [BUNDLE]      # default: the shipped CNN
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere: core/ is beside
from PIL import Image, ImageDraw  # noqa: E402

from core import bundle  # noqa: E402
from core.recognizer import Recognizer  # noqa: E402


def drawn(marks, size=(280, 280)) -> Image.Image:
    img = Image.new("L", size, 0)
    marks(ImageDraw.Draw(img))
    return img


PROBES = {
    "dash": drawn(lambda d: d.line([(60, 140), (220, 140)], fill=255, width=16)),
    "1-px line, 1024x200": drawn(lambda d: d.line([(10, 100), (1010, 100)], fill=255, width=1), (1024, 200)),
    "filled bar": drawn(lambda d: d.rectangle((110, 40, 170, 240), fill=255)),
    "plus": drawn(lambda d: (d.line([(60, 140), (220, 140)], fill=255, width=16),
                             d.line([(140, 60), (140, 220)], fill=255, width=16))),
    "round circle": drawn(lambda d: d.ellipse((60, 60, 220, 220), outline=255, width=16)),
    "small dot": drawn(lambda d: d.ellipse((130, 130, 150, 150), fill=255)),
}

if __name__ == "__main__":
    rec = Recognizer(sys.argv[1] if len(sys.argv) > 1 else bundle.PRETRAINED)
    for name, image in PROBES.items():
        p = rec.predict(image)
        print(f"{name:22s} {p.status:9s} guess {p.guess} confidence {p.confidence:.2f} {p.reason or ''}")
