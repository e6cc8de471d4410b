"""Model builders: every registered architecture builds, trains a step, and honours its knobs."""

from __future__ import annotations

import dataclasses
import functools
import inspect

import keras
import numpy as np
import pytest

from benchmark import architectures, models, overrides, published

NUM_CLASSES = 47
BATCH = 8
# Training the 7.6M-parameter default ResNet costs seconds per backend; a narrow one checks the same code.
CHEAP = {"resnet": {"filters": (8, 16, 32)}}


def _images(n: int = BATCH, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random uint8 images and labels, as the data pipeline delivers them."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    y = rng.integers(0, NUM_CLASSES, size=(n,)).astype("int32")
    return x, y


def _layers(model: keras.Model, kind: type) -> list[keras.Layer]:
    return [layer for layer in model.layers if isinstance(layer, kind)]


# --- every registered architecture -------------------------------------------------------


def test_the_registry_starts_with_the_study_architectures_in_its_order():
    """The commands' choices, the report and the app list the study's architectures in its
    order (published.RANKING: MLP < CNN < ResNet); a plugin's come after them."""
    study = published.RANKING
    assert models.names()[:len(study)] == study


@pytest.mark.parametrize("name", models.names())
def test_builds_with_defaults(name):
    model = models.build(name)
    assert model.name == name
    assert model.output.shape == (None, NUM_CLASSES)
    assert model.input.dtype == "float32"
    assert model.count_params() > 0
    assert isinstance(model.layers[1], keras.layers.Rescaling)
    assert not model.compiled  # training code chooses the optimizer


@pytest.mark.parametrize("name", models.names())
def test_builder_arguments_are_keyword_only(name):
    params = inspect.signature(models.get(name)).parameters.values()
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    assert models.defaults(name)["num_classes"] == NUM_CLASSES
    assert models.defaults(name)["input_shape"] == (28, 28)


@pytest.mark.parametrize("name", models.names())
def test_trains_one_step(name):
    keras.utils.set_random_seed(0)
    model = models.build(name, **CHEAP.get(name, {}))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = _images()
    loss = model.train_on_batch(x, y)
    assert np.all(np.isfinite(loss))
    probs = np.asarray(model.predict_on_batch(x))
    assert probs.shape == (BATCH, NUM_CLASSES)
    assert not np.isnan(probs).any()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)


@pytest.mark.parametrize("name", models.names())
def test_accepts_lists_as_from_json(name):
    """A configuration read back from JSON has lists where the defaults have tuples."""
    kwargs = {k: list(v) if isinstance(v, tuple) else v for k, v in models.defaults(name).items()}
    assert models.build(name, **kwargs).count_params() == models.build(name).count_params()


@pytest.mark.parametrize("name", models.names())
def test_softmax_stays_float32_under_mixed_precision(name):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = models.build(name, **CHEAP.get(name, {}))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.output.dtype == "float32"


@pytest.mark.parametrize("name", models.names())
def test_batch_norm_off(name):
    with_bn = models.build(name, **CHEAP.get(name, {}))
    without = models.build(name, batch_norm=False, **CHEAP.get(name, {}))
    assert _layers(with_bn, keras.layers.BatchNormalization)
    assert not _layers(without, keras.layers.BatchNormalization)
    # BN replaces the bias of the layer it follows; without BN the biases come back.
    assert all(layer.use_bias for layer in _layers(without, keras.layers.Conv2D))
    assert not any(layer.use_bias for layer in _layers(with_bn, keras.layers.Conv2D))


@pytest.mark.parametrize("name", models.names())
@pytest.mark.parametrize("l1, l2", [(0.0, 1e-4), (1e-5, 0.0)])
def test_regularization_on_every_kernel(name, l1, l2):
    model = models.build(name, l1=l1, l2=l2, **CHEAP.get(name, {}))
    kernels = _layers(model, keras.layers.Dense) + _layers(model, keras.layers.Conv2D)
    assert all(layer.kernel_regularizer is not None for layer in kernels)
    assert len(model.losses) == len(kernels)
    assert all(float(keras.ops.convert_to_numpy(loss)) > 0 for loss in model.losses)


@pytest.mark.parametrize("name", models.names())
def test_no_regularization_when_factors_are_zero(name):
    model = models.build(name, l1=0.0, l2=0.0, **CHEAP.get(name, {}))
    assert not model.losses


@pytest.mark.parametrize("name", models.names())
def test_activation_choice(name):
    elu = models.build(name, activation="elu", **CHEAP.get(name, {}))
    names = {
        layer.get_config().get("activation") for layer in _layers(elu, keras.layers.Activation)
    }
    assert "elu" in names
    assert not _layers(elu, keras.layers.LeakyReLU)
    leaky = models.build(name, activation="leaky_relu", leaky_slope=0.2, **CHEAP.get(name, {}))
    slopes = {layer.negative_slope for layer in _layers(leaky, keras.layers.LeakyReLU)}
    assert slopes and all(s == pytest.approx(0.2) for s in slopes)


@pytest.mark.parametrize("name", models.names())
def test_num_classes(name):
    model = models.build(name, num_classes=10, **CHEAP.get(name, {}))
    assert model.output.shape == (None, 10)


# --- architecture-specific knobs ---------------------------------------------------------


def test_mlp_baseline_parameter_count():
    # 784*128 + 2*128*128 (no biases under BN) + 3 BN * 4*128 + 128*47 + 47
    assert models.build("mlp").count_params() == 140_719


def test_mlp_layers_and_units():
    model = models.build("mlp", hidden_layers=5, units=32, dropout=0.0)
    hidden = [layer for layer in _layers(model, keras.layers.Dense) if layer.name != "logits"]
    assert [layer.units for layer in hidden] == [32] * 5
    assert [layer.name for layer in hidden] == [f"dense_{i}" for i in range(1, 6)]
    assert not _layers(model, keras.layers.Dropout)


def test_mlp_dropout_per_layer():
    model = models.build("mlp", dropout=(0.1, 0.0, 0.3))
    assert {d.name: d.rate for d in _layers(model, keras.layers.Dropout)} == {
        "dropout_1": pytest.approx(0.1),
        "dropout_3": pytest.approx(0.3),
    }
    single = models.build("mlp", hidden_layers=4, dropout=0.2)
    assert [d.rate for d in _layers(single, keras.layers.Dropout)] == [pytest.approx(0.2)] * 4


def test_cnn_kernels_and_filters_reach_the_convs():
    model = models.build("cnn", filters=(32, 64, 128), kernels=(5, 5, 3))
    convs = _layers(model, keras.layers.Conv2D)
    assert [c.name for c in convs] == ["conv_1", "conv_2", "conv_3"]
    assert [c.filters for c in convs] == [32, 64, 128]
    assert [tuple(c.kernel_size) for c in convs] == [(5, 5), (5, 5), (3, 3)]
    assert len(_layers(model, keras.layers.MaxPooling2D)) == 3
    same = models.build("cnn", filters=[16, 16, 16], kernels=5)
    assert [tuple(c.kernel_size) for c in _layers(same, keras.layers.Conv2D)] == [(5, 5)] * 3


def test_cnn_dropout_and_dense_units():
    assert [d.rate for d in _layers(models.build("cnn"), keras.layers.Dropout)] == [0.5]
    model = models.build("cnn", dropout=0.0, dense_units=64)
    assert not _layers(model, keras.layers.Dropout)
    assert model.get_layer("dense").units == 64


def test_resnet_default_shape():
    model = models.build("resnet")
    assert len(_layers(model, keras.layers.Add)) == 6
    assert model.get_layer("stem_conv").kernel_size == (3, 3)
    assert model.get_layer("stage1_block1_conv1").kernel_size == (5, 5)
    # Stages after the first halve the map: 28 -> 14 -> 7.
    assert model.get_layer("stage2_block1_conv1").output.shape[1:3] == (14, 14)
    assert model.get_layer("stage3_block2_conv2").output.shape[1:] == (7, 7, 256)
    projections = [c.name for c in _layers(model, keras.layers.Conv2D) if c.name.endswith("_proj")]
    assert projections == ["stage2_block1_proj", "stage3_block1_proj"]


@pytest.mark.parametrize("blocks", [(1, 2, 3), (3, 3, 3), (2, 2)])
def test_resnet_blocks(blocks):
    filters = (8, 16, 32)[: len(blocks)]
    model = models.build("resnet", blocks=blocks, filters=filters, kernel_size=3)
    assert len(_layers(model, keras.layers.Add)) == sum(blocks)
    assert model.get_layer(f"stage{len(blocks)}_block{blocks[-1]}_add")


def test_resnet_dropout():
    assert not _layers(models.build("resnet", **CHEAP["resnet"]), keras.layers.Dropout)
    model = models.build("resnet", dropout=0.3, **CHEAP["resnet"])
    assert [d.rate for d in _layers(model, keras.layers.Dropout)] == [pytest.approx(0.3)]


# --- invalid arguments -------------------------------------------------------------------


def test_mlp_dropout_length_mismatch():
    with pytest.raises(ValueError) as err:
        models.build("mlp", hidden_layers=5)
    assert str(err.value) == (
        "dropout has 3 rates but hidden_layers=5; give one rate per layer or a single float"
    )


def test_cnn_kernels_length_mismatch():
    with pytest.raises(ValueError) as err:
        models.build("cnn", filters=(32, 64, 128), kernels=[5, 3])
    assert str(err.value) == "kernels [5, 3] has 2 sizes but filters has 3 layers"


def test_resnet_blocks_length_mismatch():
    with pytest.raises(ValueError, match="blocks .* has 2 stages but filters .* has 3"):
        models.build("resnet", blocks=(2, 2))


@pytest.mark.parametrize("name", models.names())
def test_unknown_activation(name):
    with pytest.raises(
        ValueError, match="unknown activation 'gelu'; choose from relu, elu, leaky_relu"
    ):
        models.build(name, activation="gelu")


@pytest.mark.parametrize("name", models.names())
@pytest.mark.parametrize(
    "kwargs",
    [
        {"l1": -1e-5},
        {"l2": -0.1},
        {"num_classes": 0},
        {"leaky_slope": -0.1},
        {"input_shape": (28, 0)},
        {"init": "he_normal"},
    ],
)
def test_common_invalid_arguments(name, kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        models.build(name, **kwargs)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("mlp", {"hidden_layers": 0, "dropout": ()}),
        ("mlp", {"units": 0}),
        ("mlp", {"units": 12.5}),
        ("mlp", {"units": True}),
        ("mlp", {"dropout": 1.0}),
        ("mlp", {"dropout": -0.1}),
        ("mlp", {"dropout": (0.25, 1.5, 0.0)}),
        ("cnn", {"filters": ()}),
        ("cnn", {"filters": (32, 0)}),
        ("cnn", {"filters": 32}),
        ("cnn", {"kernels": 0}),
        ("cnn", {"kernels": (3, -3)}),
        ("cnn", {"dropout": 1.0}),
        ("cnn", {"dense_units": 0}),
        ("cnn", {"input_shape": (784,)}),
        ("resnet", {"blocks": (2, 0, 2)}),
        ("resnet", {"filters": (64, 128, "256")}),
        ("resnet", {"kernel_size": 0}),
        ("resnet", {"dropout": 1.0}),
    ],
)
def test_invalid_arguments(name, kwargs):
    with pytest.raises(ValueError):
        models.build(name, **kwargs)


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError):
        models.build("mlp", neurons=64)


# --- registry ----------------------------------------------------------------------------


def test_unknown_architecture():
    with pytest.raises(ValueError) as err:
        models.build("vit")
    assert str(err.value) == "unknown architecture 'vit'; choose from mlp, cnn, resnet"
    with pytest.raises(ValueError, match="choose from mlp, cnn, resnet"):
        models.defaults("vit")


def tiny(*, units: int = 4) -> keras.Model:
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(units)], name="tiny")


made = functools.partial(tiny, units=2)  # a builder whose keywords its source does not show


@pytest.mark.parametrize("name", models.names())
def test_keywords_read_from_the_source_are_the_builders(name):
    """`--set` keys are checked against the builder's source before Keras is imported: they
    must be the keywords the imported builder takes."""
    assert architectures.keywords(name) == list(models.defaults(name))


def test_keywords_come_from_the_source_or_are_left_for_later(monkeypatch):
    monkeypatch.setattr(architectures, "_REGISTRY", dict(architectures._REGISTRY))
    mlp = architectures.get("mlp")
    for name, builder in (("tiny", f"{__name__}:tiny"), ("made", f"{__name__}:made"),
                          ("gone", "no_such_module.anywhere:tiny")):
        architectures.register(dataclasses.replace(mlp, name=name, builder=builder))
    assert architectures.keywords("tiny") == ["units"]
    assert architectures.keywords("made") is None  # only importing the module would tell
    assert architectures.keywords("gone") is None
    with pytest.raises(ValueError, match="--set colour: no such setting for tiny"):
        overrides.check("tiny", "baseline", ["colour"])
    overrides.check("made", "baseline", ["colour"])  # left for resolve, once the builder is loaded
    with pytest.raises(ValueError, match="--set colour: no such setting for made"):
        overrides.check("made", "baseline", ["colour"], keywords=list(models.defaults("made")))


def test_duplicate_registration(monkeypatch):
    monkeypatch.setattr(architectures, "_REGISTRY", dict(architectures._REGISTRY))
    mlp = architectures.get("mlp")
    with pytest.raises(ValueError, match="already registered"):
        architectures.register(mlp)
    entry = dataclasses.replace(mlp, name="tiny", builder=f"{__name__}:tiny")
    architectures.register(entry)
    assert models.names()[-1] == "tiny"
    assert models.defaults("tiny") == {"units": 4}
    with pytest.raises(ValueError, match="already registered"):
        architectures.register(entry)
    with pytest.raises(ValueError, match="no 'best' preset"):
        architectures.register(dataclasses.replace(entry, name="tinier",
                                                   presets={"baseline": mlp.presets["baseline"]}))


def test_defaults_are_the_baseline():
    assert models.defaults("mlp") == {
        "hidden_layers": 3,
        "units": 128,
        "activation": "relu",
        "batch_norm": True,
        "dropout": (0.25, 0.25, 0.0),
        "l1": 1e-5,
        "l2": 0.0,
        "leaky_slope": 0.1,
        "init": "torch",
        "num_classes": 47,
        "input_shape": (28, 28),
    }
    assert models.defaults("cnn")["filters"] == (32, 64)
    assert models.defaults("cnn")["dropout"] == 0.5
    assert models.defaults("resnet")["blocks"] == (2, 2, 2)
    assert models.defaults("resnet")["activation"] == "leaky_relu"


@pytest.mark.parametrize("name", models.names())
def test_batch_norm_uses_the_studys_pytorch_momentum(name):
    """Keras's 0.99 momentum leaves running statistics unusable after a few hundred steps."""
    bns = _layers(models.build(name), keras.layers.BatchNormalization)
    assert bns and all(bn.momentum == pytest.approx(0.9) for bn in bns)


@pytest.mark.parametrize("name", models.names())
def test_torch_init_draws_every_kernel_and_bias_within_pytorchs_bound(name):
    """PyTorch's nn.Linear and nn.Conv2d start kernel and bias in U(+-1/sqrt(fan_in)); Keras's
    glorot_uniform kernels reach past that bound, and its biases start at zero."""
    keras.utils.set_random_seed(0)
    torch_model = models.build(name, init="torch", batch_norm=False, **CHEAP.get(name, {}))
    keras_model = models.build(name, init="keras", batch_norm=False, **CHEAP.get(name, {}))
    weighted = [layer for layer in torch_model.layers
                if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))]
    assert weighted
    for layer in weighted:
        kernel = keras.ops.convert_to_numpy(layer.kernel)
        bound = 1 / np.sqrt(np.prod(kernel.shape[:-1]))  # fan_in: all but the output axis
        bias = keras.ops.convert_to_numpy(layer.bias)
        for values, what in ((kernel, "kernel"), (bias, "bias")):
            assert np.abs(values).max() <= bound * (1 + 1e-6), (layer.name, what)  # float32
            if values.size >= 200:  # enough draws to come near the bound and spread over it
                assert np.abs(values).max() > 0.9 * bound, (layer.name, what)
                assert values.std() == pytest.approx(bound / np.sqrt(3), rel=0.15)
        same = keras_model.get_layer(layer.name)
        assert not np.any(keras.ops.convert_to_numpy(same.bias))
        if layer.name == "logits":  # glorot's bound sqrt(6 / (fan_in + fan_out)) is wider here
            assert np.abs(keras.ops.convert_to_numpy(same.kernel)).max() > bound
