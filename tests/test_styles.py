import numpy as np
import pytest

from core import nondigits, preprocess, styles, suite
from core.recognizer import Prediction


def a_digit() -> np.ndarray:
    """A 28x28 MNIST-like 7: white strokes on black."""
    d = np.zeros((28, 28), np.uint8)
    d[5:8, 7:21] = 255
    for i in range(15):
        d[8 + i, 19 - i // 2: 22 - i // 2] = 255
    return d


@pytest.mark.parametrize("style", list(styles.DIGIT_STYLES))
def test_each_style_keeps_the_ink_and_is_deterministic(style):
    digit = a_digit()
    imgs = [styles.digit_image(style, digit, 7, np.random.default_rng(3)) for _ in range(2)]
    a, b = (np.asarray(i.convert("L")) for i in imgs)
    assert a.shape == b.shape and (a == b).all()  # same seed, same image
    assert min(a.shape) >= 28 and max(a.shape) <= 700  # an image a person would send
    p = preprocess.prepare(imgs[0])
    assert not p.blank and p.image.shape == (28, 28)
    assert (p.image > 128).sum() >= 15  # the digit's ink survived the style


def test_page_photo_darkens_part_of_the_same_page():
    """The table or the cast shadow is drawn on the very page the clean variant makes, and the
    digit stays whole on it."""
    digit = a_digit()

    def page(**kw):
        return styles.page_photo(**kw)(digit, 7, np.random.default_rng(3))

    clean_page = page(edge=False, shadow=False)
    clean, both, again = (np.asarray(i.convert("L"), float) for i in (clean_page, page(), page()))
    assert (again == both).all() and clean.shape == both.shape and 240 <= min(clean.shape)
    assert np.mean(both < clean - 40) > 0.05  # a darker region: the table, the shadow
    p = preprocess.prepare(clean_page)
    assert not p.blank and (p.image > 128).sum() >= 15


def test_page_photo_on_a_light_desk_shows_a_table_lighter_than_the_page():
    """With `light`, the table is a white desk: over the same page and place as the dark table,
    lighter than the dark one everywhere it shows, and lighter than the paper somewhere."""
    digit = a_digit()
    pages = [[np.asarray(styles.page_photo(edge=True, shadow=False, light=light)(digit, 7, np.random.default_rng(s))
                         .convert("L"), float) for light in (False, True)] for s in range(6)]
    clean = [np.asarray(styles.page_photo(edge=False, shadow=False)(digit, 7, np.random.default_rng(s)).convert("L"), float)
             for s in range(6)]
    shown = [(dark, light, paper, dark < paper - 40) for (dark, light), paper in zip(pages, clean)]
    shown = [s for s in shown if s[3].mean() > 0.01]  # where the table shows in the picture
    assert len(shown) >= 3
    assert all(np.median(light[t]) > np.median(dark[t]) + 60 for dark, light, _, t in shown)
    assert any(np.median(light[t]) > np.median(paper) for _, light, paper, t in shown)


def test_styles_differ_from_each_other_and_by_seed():
    digit = a_digit()
    one = np.asarray(styles.digit_image("pixel8", digit, 7, np.random.default_rng(0)).convert("L"))
    other = np.asarray(styles.digit_image("pixel8", digit, 7, np.random.default_rng(1)).convert("L"))
    assert one.shape != other.shape or (one != other).any()
    blocky = preprocess.prepare(styles.digit_image("pixel8", digit, 7, np.random.default_rng(0))).image
    smooth = preprocess.prepare(styles.digit_image("thin", digit, 7, np.random.default_rng(0))).image
    assert (blocky != smooth).any()


def test_bold_is_bolder_than_thin():
    def thickness(style):  # stroke width as a share of the digit's height, in the image sent
        mask = np.asarray(styles.digit_image(style, a_digit(), 7, np.random.default_rng(0)).convert("L")) > 128
        rows = np.flatnonzero(mask.any(axis=1))
        return preprocess.stroke_width(mask) / (rows[-1] + 1 - rows[0])

    assert thickness("bold4") > thickness("bold2") > thickness("thin")


@pytest.mark.parametrize("family", list(nondigits.NONDIGIT_FAMILIES))
def test_each_nondigit_family_makes_images(family):
    a = nondigits.suite_nondigits(family, 3, seed=5)
    b = nondigits.suite_nondigits(family, 3, seed=5)
    assert len(a) == 3 and all((np.asarray(x) == np.asarray(y)).all() for x, y in zip(a, b))
    if family.startswith("letters_"):  # each says which sign it is (benchmarks/styles.py --signs)
        assert [x.info["sign"] for x in a] == [y.info["sign"] for y in b]
        assert all(x.info["sign"] in nondigits.LETTERS for x in a)


def test_fonts_split_into_seen_and_held_out():
    seen, held = styles.fonts(True), styles.fonts(False)
    assert None in held and not set(seen) & set(held)
    assert all("Sans" in f and "Mono" not in f for f in seen)


def test_seen_and_held_out_families_are_both_there():
    assert {s.seen for s in styles.DIGIT_STYLES.values()} == {True, False}
    assert {s.seen for s in nondigits.NONDIGIT_FAMILIES.values()} == {True, False}


def _pred(status, guess, reason=""):
    return Prediction(guess if status == "ok" else None, guess, 0.9, status, [0.1] * 10, reason=reason)


def test_scoring_counts_read_misread_and_refusals_by_test():
    col = suite.Column("bold2", "digit", True, np.zeros((5, 28, 28), np.uint8), np.zeros(5, bool),
                       np.array([1, 2, 3, 4, 5]), np.arange(5))
    preds = [_pred("ok", 1), _pred("ok", 9), _pred("no_digit", 3, "other"), _pred("no_digit", 4, "gate"),
             _pred("uncertain", 5, "low_confidence")]
    row = suite.score(col, preds)
    assert row["read_right"] == pytest.approx(0.2) and row["misread"] == pytest.approx(0.2)
    assert row["refused"] == pytest.approx(0.6) and row["guess_right"] == pytest.approx(0.8)
    assert row["by"] == {"other": 0.2, "gate": 0.2, "low_confidence": 0.2}


def test_scoring_nondigits_counts_what_got_a_digit():
    col = suite.Column("scribble", "nondigit", False, np.zeros((4, 28, 28), np.uint8), np.zeros(4, bool),
                       np.full(4, -1), np.full(4, -1))
    row = suite.score(col, [_pred("ok", 1), _pred("no_digit", 3, "other"), _pred("no_digit", 3, "other"),
                            _pred("no_digit", None, "blank")])
    assert row["given_a_digit"] == pytest.approx(0.25) and row["by"] == {"blank": 0.25, "other": 0.5}


def test_risk_coverage_moves_from_all_answered_to_none():
    conf = np.array([0.99, 0.95, 0.6, 0.55, 0.4])
    correct = np.array([True, True, False, True, False])
    rc = suite.risk_coverage(conf, correct, np.zeros(5, bool), thresholds=[0.0, 0.5, 0.9, 1.0])
    assert rc["coverage"] == [1.0, 0.8, 0.4, 0.0]
    assert rc["risk"][0] == pytest.approx(0.4) and rc["risk"][2] == 0.0


def test_column_is_cached_and_a_damaged_cache_is_made_anew(tiny_mnist, tmp_path):
    col = suite.column("pixel12", tiny_mnist, 6, tmp_path)
    assert col.images.shape == (6, 28, 28) and set(col.index) <= set(range(len(tiny_mnist.y_test)))
    assert (col.labels == tiny_mnist.y_test[col.index]).all()
    cached = next(tmp_path.glob("style-pixel12-*.npz"))
    again = suite.column("pixel12", tiny_mnist, 6, tmp_path)
    assert (again.images == col.images).all()
    cached.write_bytes(b"")  # a 0-byte file after a crash
    assert (suite.column("pixel12", tiny_mnist, 6, tmp_path).images == col.images).all()


def test_a_new_generator_revision_makes_the_column_anew(tiny_mnist, tmp_path, monkeypatch):
    suite.column("pixel12", tiny_mnist, 6, tmp_path)
    monkeypatch.setattr(suite, "GENERATORS", suite.GENERATORS + 1)  # a generator changed its images
    suite.column("pixel12", tiny_mnist, 6, tmp_path)
    assert len(list(tmp_path.glob("style-pixel12-6-*.npz"))) == 2
