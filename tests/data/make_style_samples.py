"""Write the committed style samples: 20 MNIST test digits in each digit style of core.styles and
10 images of each non-digit family, as a person would send them (not hand-picked: the first draws
of a fixed seed). The shipped CNN must keep reading them (tests/test_pretrained.py).

    python tests/data/make_style_samples.py        # rewrites tests/data/styles/
"""
import io
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from core import nondigits, styles  # noqa: E402
from core.data import load_mnist  # noqa: E402

OUT = Path(__file__).resolve().parent / "styles"
SEED = 7  # not the suite's seed: these are other images than the benchmark's


def save(img, path: Path) -> None:
    if img.mode not in ("L", "RGB"):
        img = img.convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    if img.mode == "RGB" or buf.tell() > 30_000:  # photos and noisy paper as a phone sends them: JPEG
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85)
        path = path.with_suffix(".jpg")
    path.write_bytes(buf.getvalue())


def main() -> None:
    mnist = load_mnist()
    shutil.rmtree(OUT, ignore_errors=True)
    for name in styles.DIGIT_STYLES:
        (OUT / name).mkdir(parents=True)
        imgs, labels, idx = styles.suite_digits(name, mnist.x_test, mnist.y_test, 20, SEED)
        for img, label, i in zip(imgs, labels, idx):
            save(img, OUT / name / f"test{i:05d}_label{label}.png")
    for name in nondigits.NONDIGIT_FAMILIES:
        (OUT / name).mkdir(parents=True)
        for k, img in enumerate(nondigits.suite_nondigits(name, 10, SEED)):
            save(img, OUT / name / f"{k:02d}.png")


if __name__ == "__main__":
    main()
