import pytest

from core import models


@pytest.mark.parametrize("name,params", [("linear", 7850), ("mlp", 79510), ("keras_example", 34826)])
def test_reference_shapes_and_sizes(name, params):
    m = models.build(models.spec(name).defaults)
    assert m.input_shape == (None, 28, 28) and m.output_shape == (None, 10)
    assert m.count_params() == params


def test_reference_recipes_are_faithful():
    assert models.spec("linear").defaults.epochs == 5 and models.spec("linear").defaults.output == "sigmoid"
    assert models.spec("mlp").defaults.epochs == 10
    kex = models.spec("keras_example").defaults
    assert (kex.epochs, kex.batch_size, kex.augment) == (15, 128, False)


@pytest.mark.parametrize("name", ["cnn", "cnn_fast"])
def test_cnn_builds(name):
    cfg = models.spec(name).defaults
    m = models.build(cfg)
    assert m.output_shape == (None, 11 if cfg.nondigits else 10)  # the shipped cnn: an 11th "not a digit" class
    assert m.count_params() < 1_000_000  # the shipped bundle must stay a few MB


def test_unknown_model_lists_choices():
    with pytest.raises(models.UnknownModel, match="linear, mlp"):
        models.spec("resnet")


def test_with_ignores_unset_options():
    cfg = models.TrainConfig().with_(epochs=3, seed=None)
    assert cfg.epochs == 3 and cfg.seed == 0
