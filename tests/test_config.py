import json

import pytest

from gankit import GankitError, config
from gankit.models import build


def test_every_preset_resolves_and_builds_its_models():
    shapes = {"gauss1d": (1,), "ring8": (2,), "grid25": (2,), "mnist5k": (1, 28, 28), "digits": (1, 8, 8),
              "mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "cifar10": (3, 32, 32),
              "stacked-mnist5k": (3, 28, 28)}
    for name in config.PRESETS:
        cfg = config.resolve(name)
        classes = 10 if cfg.model.conditional else 0  # every labelled preset here has 10 classes
        shape = {"images64": (3, 64, 64), "images128": (3, 128, 128)}.get(name) or shapes[cfg.data.name]
        G, D = build(cfg.model, shape, classes)
        assert G.z_dim == cfg.model.z_dim and getattr(G, "num_classes", 0) == classes
        assert cfg.preset == name


def test_parse_sets_types_values():
    got = config.parse_sets(["train.k=3", "train.lr_g=1e-3", "data.name=ring8", "seed=7", "train.steps=2e3"])
    assert got == {"train.k": 3, "train.lr_g": 1e-3, "data.name": "ring8", "seed": 7, "train.steps": 2000}


@pytest.mark.parametrize("item, message", [
    ("train.kk=3", r"unknown config key 'train.kk'; did you mean 'train.k'\?"),
    ("train.lr=0.1", r"did you mean 'train.lr_g'\?"),
    ("trian.steps=5", r"did you mean 'train.steps'\?"),
    ("train.k=two", r"train.k: expected int, got 'two'"),
    ("train.steps=1.5", r"train.steps: expected int"),
    ("train.lr_d=fast", r"train.lr_d: expected float"),
    ("noequals", r"expected key=value"),
])
def test_bad_set_items_name_the_key(item, message):
    with pytest.raises(GankitError, match=message):
        config.parse_sets([item])


@pytest.mark.parametrize("key, value", [
    ("train.k", 0), ("train.lr_g", 0.0), ("train.lr_d", -1.0), ("data.batch_size", 0), ("train.steps", 0),
    ("train.beta1", 1.0), ("train.g_cost", "wgan"), ("train.optimizer", "rmsprop"), ("data.name", "imagenet"),
    ("model.family", "stylegan"), ("log.every", 0), ("train.ema", 1.0), ("train.ema", -0.1),
    ("train.fake_class_weight", -1.0), ("train.loss", "bce"), ("train.gp", -1.0), ("train.r1", -0.5),
    ("train.label_smoothing", 1.0), ("model.pack", 0), ("model.mbstd", -1),
    ("model.d_extra", -1), ("train.instance_noise", -0.1),
    ("train.instance_noise_steps", -1),
])
def test_out_of_range_values_name_the_key(key, value):
    with pytest.raises(GankitError, match=f"^{key}: "):
        config.resolve("ring8", {key: value})


def test_unknown_preset_suggests_the_closest():
    with pytest.raises(GankitError, match="did you mean 'ring8'"):
        config.resolve("ring9")


def test_config_round_trips_through_json():
    cfg = config.resolve("mnist-mlp", {"train.k": 2, "seed": 5})
    assert config.from_dict(json.loads(cfg.to_json())) == cfg


def test_from_dict_rejects_bad_saved_values():
    raw = config.resolve("ring8").to_dict()
    raw["train"]["k"] = "many"
    with pytest.raises(GankitError, match="train.k"):
        config.from_dict(raw)


from hypothesis import given, settings, strategies as st  # noqa: E402

KEYS = config.all_keys()
VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(-10**20, 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "nan", "inf", "-inf", "1e999", "true", "0x10", "1_000", " 3 ", "None", "[]"]),
)


@settings(max_examples=300, deadline=2000)
@given(st.lists(st.tuples(st.one_of(st.sampled_from(KEYS), st.text(max_size=15)), VALUES), max_size=4))
def test_any_set_items_give_a_config_or_one_line_error(items):
    try:
        cfg = config.resolve("ring8", config.parse_sets([f"{k}={v}" for k, v in items]))
    except GankitError as exc:
        assert "\n" not in str(exc) and str(exc)
    else:
        assert cfg.train.k >= 1 and cfg.train.lr_g > 0 and cfg.data.batch_size >= 1 and cfg.train.steps >= 1


@pytest.mark.parametrize("key, text", [("train.lr_g", "nan"), ("train.lr_d", "inf"), ("train.lr_g", "-inf")])
def test_non_finite_learning_rates_are_refused(key, text):
    with pytest.raises(GankitError, match=f"^{key}: "):
        config.resolve("ring8", config.parse_sets([f"{key}={text}"]))


@pytest.mark.parametrize("preset, over, message", [
    ("ring8", {"train.loss": "wgan", "train.g_cost": "minimax"},
     r"^train.g_cost: g_cost=minimax chooses among the paper's costs \(train.loss=gan\); train.loss=wgan"),
    ("ring8", {"model.pack": 3}, r"^model.pack: pack=3 must divide data.batch_size=256"),
    ("mnist5k-cgan", {"model.pack": 2}, r"^model.pack: packs mix samples of different classes"),
    ("ring8", {"train.loss": "hinge", "train.label_smoothing": 0.1}, r"^train.label_smoothing: .*train.loss=hinge"),
    ("ring8", {"train.augment": "translation"}, r"^train.augment: DiffAugment transforms images; ring8"),
    ("mnist5k-dcgan", {"train.augment": "rotate"}, r"^train.augment: unknown policy 'rotate'"),
    ("ring8", {"model.pack": 4, "model.mbstd": 3}, r"^model.mbstd: group size 3 must divide the 64 inputs"),
    ("toy1d", {"model.spectral_norm": True}, r"^model.spectral_norm: needs model.family mlp, paper-mlp"),
    ("toy1d", {"model.mbstd": 2}, r"^model.mbstd: needs model.family mlp, paper-mlp"),
    ("ring8", {"model.d_extra": 1}, r"^model.d_extra: needs model.family dcgan, got mlp"),
])
def test_meaningless_combinations_name_the_keys(preset, over, message):
    with pytest.raises(GankitError, match=message):
        config.resolve(preset, over)


def test_every_remedy_together_is_a_valid_config():
    cfg = config.resolve("mnist5k-dcgan", {"train.loss": "gan", "train.gp": 10, "train.r1": 1,
                                           "train.label_smoothing": 0.1, "train.augment": "translation,cutout,color",
                                           "model.pack": 2, "model.mbstd": 4, "model.spectral_norm": True,
                                           "train.ema": 0.999, "model.clusters": 0})  # (packs mix clusters)
    assert (cfg.model.pack, cfg.model.mbstd, cfg.train.augment) == (2, 4, "translation,cutout,color")


def test_train_plain_turns_every_remedy_of_a_preset_off_in_one_set():
    remedied = config.apply(config.resolve("ring8"), {"model.pack": 4, "train.ema": 0.99, "train.gp": 1.0})
    config.PRESETS["_remedied"] = ("test", {**config.PRESETS["ring8"][1], "model.pack": 4, "train.ema": 0.99,
                                            "train.gp": 1.0, "model.spectral_norm": True,
                                            "train.instance_noise": 0.3})
    try:
        plain = config.resolve("_remedied", {"train.plain": "true"})
    finally:
        del config.PRESETS["_remedied"]
    assert plain.train.plain and remedied.model.pack == 4
    for key, value in config.PLAIN_GAME.items():
        section, _, name = key.partition(".")
        assert getattr(getattr(plain, section), name) == value
    assert (plain.train.lr_g, plain.train.steps) == (remedied.train.lr_g, remedied.train.steps)  # the rest stays
    assert config.from_dict(plain.to_dict()) == plain


def test_train_plain_with_a_remedy_names_both_keys():
    with pytest.raises(GankitError, match=r"^train.plain: the paper's plain game has model.pack=1, got model.pack=2"):
        config.resolve("ring8", {"train.plain": True, "model.pack": 2})


def test_data_classes_parse_and_validate():
    assert config.parse_classes("") == ()
    assert config.parse_classes("4,0, 2") == (0, 2, 4)
    cfg = config.resolve("mnist5k-dcgan", {"data.classes": "0,1,2,3,4"})
    assert cfg.data.classes == "0,1,2,3,4"
    for value, message in [("1,x", "expected comma-separated class indices"), ("1,-2", "must be >= 0"),
                           ("3,3", "listed twice")]:
        with pytest.raises(GankitError, match=f"data.classes: .*{message}"):
            config.resolve("mnist5k-dcgan", {"data.classes": value})
    with pytest.raises(GankitError, match="data.classes: ring8 has no class labels"):
        config.resolve("ring8", {"data.classes": "1"})
