import numpy as np

from core import novelty


def test_temperature_recovers_known_value():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (4000, 10))
    true_t = 2.0
    p_true = np.exp(logits / true_t)
    p_true /= p_true.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(10, p=row) for row in p_true])
    over = np.exp(logits)
    over /= over.sum(axis=1, keepdims=True)  # the over-confident model's outputs
    assert abs(novelty.fit_temperature(over, y) - true_t) < 0.15


def test_novelty_scores_far_points_higher(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 3000)
    centres = rng.normal(0, 5, (10, 64))
    feats = centres[y] + rng.normal(0, 1, (3000, 64))
    nov = novelty.Novelty.fit(feats, y)
    near = nov.score(centres[:5] + rng.normal(0, 1, (5, 64)))
    far = nov.score(rng.normal(0, 15, (5, 64)))
    assert far.min() > near.max()
    nov.threshold = 3.0
    nov.save(tmp_path / "ood.npz")
    again = novelty.Novelty.load(tmp_path / "ood.npz")
    np.testing.assert_allclose(again.score(feats[:10]), nov.score(feats[:10]))
    assert again.threshold == 3.0
    # the projection (features x 48, the bundle's largest array) is stored in float32
    assert again.mean.dtype == again.components.dtype == np.float32


class _Tests:
    """A recognizer whose refusal tests fire where told: image value v fires the tests in FIRES[v]."""
    FIRES = {0: (), 1: ("novelty",), 2: ("thickness",), 3: ("thickness", "other")}

    def forward(self, images):
        return None, None, None

    def refusal_tests(self, feats, images, other):
        v = images[:, 0, 0]
        return {t: np.isin(v, [k for k, ts in self.FIRES.items() if t in ts])
                for t in ("thickness", "other", "novelty")}


def test_a_last_net_that_refuses_only_digits_is_switched_off():
    from core.calibrate import refused_alone, unearned

    imgs = lambda *vs: np.asarray(vs, np.uint8)[:, None, None] * np.ones((1, 28, 28), np.uint8)  # noqa: E731
    assert refused_alone(_Tests(), imgs(0, 1, 2, 3, 3)) == {"thickness": 1, "other": 0, "novelty": 1}
    digits = {"photo": imgs(0, 0, 1), "bold": imgs(0, 2)}
    # novelty refuses a digit alone and no non-digit that nothing else refuses: off.
    # thickness catches two non-digits alone for the one digit it refuses alone: kept.
    assert unearned(_Tests(), digits, imgs(0, 2, 2, 3, 3)) == ["novelty"]
    # a non-digit caught by thickness together with "other" is not thickness's own catch
    assert unearned(_Tests(), digits, imgs(3, 3, 3)) == ["thickness", "novelty"]


def test_the_non_digits_judged_are_those_the_networks_trained_on():
    """The traced letters join calibration's non-digits only for a bundle that learned them."""
    from types import SimpleNamespace

    from core import nondigits
    from core.calibrate import seen_nondigits

    made = []

    def recognizer(traced):
        return SimpleNamespace(meta=SimpleNamespace(traced_letters=traced),
                               prepare=lambda img: made.append(img) or SimpleNamespace(image=np.zeros((28, 28))))

    plain, traced = nondigits.trained_nondigits(False), nondigits.trained_nondigits(True)
    assert traced == [*plain, nondigits.NONDIGIT_FAMILIES["letters_hand_sans"]]
    assert len(seen_nondigits(recognizer(0), 1, seed=0)) == len(plain)
    assert len(seen_nondigits(recognizer(1), 1, seed=0)) == len(traced) == len(made) - len(plain)


def test_the_shape_tests_share_the_budget_that_refuses_most_non_digits():
    from core import calibrate

    rng = np.random.default_rng(0)
    n = 1000
    fixed = {"a": np.zeros(n, bool), "b": np.zeros(n, bool)}
    other = {k: rng.uniform(0, 0.5, n) for k in fixed}  # digits: low "not a digit" scores
    gate = {k: rng.uniform(0.5, 1, n) for k in fixed}  # digits: high "is a digit" scores
    # non-digits: the 11th class knows them (scores spread above the digits'), the gate does not
    nd = (np.zeros(n, bool), rng.uniform(0.45, 1, n), rng.uniform(0.6, 1, n))
    got = calibrate.split_budgets(fixed, other, gate, nd)
    assert got["gate"] == (0.0, None)  # it would only cost digits: not asked
    assert 0.008 <= got["other"][0] <= calibrate.MAX_STYLE_REFUSED  # (0.01 catches no more than 0.008 here)
    # other tests already refuse 0.6% of style b: the 11th class may only add what is left
    fixed["b"][:6] = True
    assert calibrate.split_budgets(fixed, other, gate, nd)["other"][0] <= calibrate.MAX_STYLE_REFUSED - 0.006 + 1e-9
    # a gate that catches what the 11th class misses earns part of the budget
    nd_gate_knows = (nd[0], np.full(n, 0.1), rng.uniform(0, 0.6, n))
    assert calibrate.split_budgets(fixed, other, gate, nd_gate_knows)["gate"][0] > 0
    # a bundle with neither test: nothing to split
    assert calibrate.split_budgets(fixed, None, None, (nd[0], np.zeros(n), np.ones(n))) == {
        "other": (0.0, None), "gate": (0.0, None)}
