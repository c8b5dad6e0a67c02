"""Configuration: frozen dataclasses, the presets (gankit.presets) applied to them, ``--set`` parsing.

A run's config is ``Config`` with one section per part of the system. A preset is a name
mapped to a one-line description and a dict of dotted overrides; ``resolve(preset, sets)``
applies the preset, then the user's ``key=value`` strings, then validates everything.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from gankit.data.base import parse_classes  # noqa: F401  (gankit.config.parse_classes for callers)
from gankit.errors import GankitError
from gankit.presets import PLAIN_GAME, PRESETS  # PRESETS: gankit.config.PRESETS for callers


@dataclass(frozen=True)
class DataConfig:
    name: str = "mnist5k"  # data set, one of gankit.data.DATASETS
    path: str = ""  # folder or file, for the data sets read from your files
    split: str = "train"  # which split to train on
    classes: str = ""  # train on these classes of a labelled data set only, e.g. "0,1,2,3,4" (empty: all)
    batch_size: int = 64  # m: examples (and noise samples) per minibatch
    image_size: int = 0  # imagefolder: resize to this side (0: keep the native size)
    channels: int = 0  # imagefolder: 1 or 3 (0: infer from the files)
    mean: float = 5.0  # gauss1d: mean of the data
    sd: float = 1.0  # gauss1d: standard deviation of the data


MEMORY_FORMATS = ("auto", "channels_last", "contiguous")
THIN_DECONV_KERNELS = ("auto", "onednn", "native")


@dataclass(frozen=True)
class ModelConfig:
    family: str = "dcgan"  # toy | mlp | paper-mlp | dcgan | resnet (SN-GAN's ResNet pair, gankit.models.resnet)
    z_dim: int = 100  # dimension of the noise z ~ N(0, I)
    width: int = 64  # dcgan: G's last / D's first channel count; mlp: hidden units
    d_width: int = 0  # D's width if different from G's (0: same as width)
    depth: int = 3  # mlp: hidden layers
    d_extra: int = 0  # dcgan: extra 3x3 stride-1 convolutions at D's last map (WGAN code's extra layers)
    theta0: float = 3.0  # toy: the shift generator's starting theta (Prince, fig. 15.1)
    conditional: str = ""  # "" (none) | cgan (class into G and D) | acgan (class into G, D predicts it)
    noise: str = "gaussian"  # z ~ gaussian N(0, I) | uniform U(-sqrt 3, sqrt 3)^z_dim (unit variance; the 2014 code)
    sync_bn: bool = False  # DDP: BatchNorm statistics over the global minibatch (SyncBatchNorm, CUDA) instead of per rank
    spectral_norm: bool = False  # mlp/dcgan/resnet: spectral normalization of D's layers, no BatchNorm in D (Miyato 2018)
    pack: int = 1  # mlp/dcgan: PacGAN, D judges packs of this many samples at once (Lin et al. 2018; 1: off)
    mbstd: int = 0  # mlp/dcgan: minibatch standard deviation over groups of this size before D's last layer (0: off)
    clusters: int = 0  # mlp/dcgan: self-conditioning on this many k-means clusters of the data (Liu 2020; 0: off)
    g_batchnorm: bool = False  # paper-mlp: BatchNorm before G's hidden ReLUs (DCGAN's cure for collapse; not in 2014)
    memory_format: str = "auto"  # conv nets: channels_last | contiguous | auto (the faster here, measured once: gankit.tuning)
    thin_deconv: str = "auto"  # dcgan, CPU: G's 1-3 channel image layer on onednn | native | auto (timed with the layout)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000  # generator updates (outer iterations of Algorithm 1)
    k: int = 1  # discriminator updates per generator update (Algorithm 1's k)
    loss: str = "gan"  # gan (the paper's game, G's cost from g_cost) | lsgan | wgan | hinge
    g_cost: str = "nonsaturating"  # loss=gan: minimax | nonsaturating | maximum_likelihood
    gp: float = 0.0  # weight of the gradient penalty E(||grad D(x_hat)|| - 1)^2 (Gulrajani 2017: 10; 0: off)
    r1: float = 0.0  # gamma of the R1 penalty gamma/2 E||grad D(x)||^2 on data (Mescheder 2018; 0: off)
    label_smoothing: float = 0.0  # loss=gan: one-sided, the data's target is 1 - this (Salimans 2016: 0.1; 0: off)
    augment: str = ""  # images: DiffAugment policies, e.g. translation,cutout,color (Zhao 2020), or ada (Karras 2020; "": none)
    ada_target: float = 0.6  # augment=ada: the r_t = E[sign D(x_real)] that the probability p is steered to (Karras 2020: 0.6)
    ada_kimg: float = 500.0  # augment=ada: thousands of real images D is shown for p to move by 1 (Karras 2020: 500)
    ada_interval: int = 4  # augment=ada: steps between adjustments of p (Karras 2020: every 4 minibatches)
    instance_noise: float = 0.0  # sd of Gaussian noise on D's inputs, falling linearly to 0 (Sønderby 2016; 0: off)
    instance_noise_steps: int = 0  # the noise reaches 0 after this many steps (0: train.steps)
    optimizer: str = "adam"  # adam (DCGAN) | sgd (with momentum, the 2014 paper)
    lr_g: float = 2e-4  # generator learning rate
    lr_d: float = 2e-4  # discriminator learning rate
    beta1: float = 0.5  # adam: first-moment decay (0.5 for DCGAN)
    beta2: float = 0.999  # adam: second-moment decay
    momentum: float = 0.5  # sgd: momentum at step 0
    momentum_final: float = 0.5  # sgd: momentum reached after momentum_steps (the paper: 0.7)
    momentum_steps: int = 1  # sgd: steps over which momentum rises linearly
    momentum_epochs: float = 0.0  # sgd: if > 0, momentum rises over this many epochs instead (the paper: 250)
    lr_decay: float = 1.0  # learning rates are multiplied by this after every step (the paper: 1/1.000004)
    lr_min: float = 0.0  # floor for the decayed learning rates
    on_nan: str = "stop"  # stop | rollback: what a NaN/Inf loss does
    micro_batches: int = 1  # parts a minibatch goes through G and D in, gradients summed (less memory; = N ranks' step)
    threads: int = 0  # torch CPU threads (0: torch's default, one per core)
    device: str = "auto"  # auto (CUDA, else MPS, else CPU) | cpu | cuda | cuda:N | mps
    precision: str = "fp32"  # fp32 | bf16 | fp16: autocast of G and D (losses stay fp32; fp16 adds a GradScaler per player)
    class_weight: float = 1.0  # acgan: weight of the class cross-entropy in both players' losses (Odena: 1)
    fake_class_weight: float = 1.0  # acgan: D's class term on G's samples, times class_weight (Odena: 1; 0: data only)
    plain: bool = False  # the paper's plain game: every remedy below and in model.* off (see PLAIN_GAME)
    ema: float = 0.0  # G's weight average for sample/eval: decay min(ema, (1+n)/(10+n)) at update n (0: off)
    method: str = "gan"  # gan (Algorithm 1) | vae (G is a VAE's decoder, trained on the ELBO: gankit.vae)
    vae_sigma: float = 0.2  # vae: sd of the observation model N(x; G(z), sd^2 I) in the data's units


@dataclass(frozen=True)
class LogConfig:
    every: int = 50  # steps between lines of metrics.jsonl and TensorBoard scalars
    sample_every: int = 500  # steps between sample grids (RUN/samples/step_*.png)
    checkpoint_every: int = 500  # steps between checkpoints (RUN/checkpoints/last)
    grid: int = 64  # samples in each grid (a square number fills the grid)
    keep: int = 1  # step checkpoints kept in RUN/checkpoints (the newest; checkpoints/best's is kept besides)


@dataclass(frozen=True)
class EvalConfig:
    every: int = 0  # steps between evaluations during training (0: never)
    metrics: str = ""  # comma-separated metric names (empty: the defaults for the data set)
    num: int = 1000  # samples drawn for each evaluation during training
    best: str = ""  # keep RUN/checkpoints/best by this number of the evaluation, e.g. fid_inception ("": no best)
    best_mode: str = "min"  # best: min (lower is better: FID, KID, distances) | max (higher is better)


@dataclass(frozen=True)
class Config:
    preset: str = ""  # the preset this config started from
    seed: int = 0  # one seed for weights, noise, data order and dropout
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    log: LogConfig = field(default_factory=LogConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)


_SECTION_CLASSES = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig, "log": LogConfig,
                    "eval": EvalConfig}
TOP_LEVEL = ("seed",)
PRECISIONS = ("fp32", "bf16", "fp16")
UNLABELLED_DATASETS = ("gauss1d", "ring8", "grid25")  # toys: no classes to condition on


def all_keys() -> list[str]:
    """Every settable dotted key: ``seed`` and ``section.field``."""
    keys = list(TOP_LEVEL)
    for name, cls in _SECTION_CLASSES.items():
        keys += [f"{name}.{f.name}" for f in dataclasses.fields(cls)]
    return keys


def _unknown_key(key: str) -> GankitError:
    close = difflib.get_close_matches(key, all_keys(), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(all_keys())}"
    return GankitError(f"unknown config key {key!r}{hint}")


def _field_type(key: str) -> type:
    if key in TOP_LEVEL:
        return int
    section, _, name = key.partition(".")
    cls = _SECTION_CLASSES.get(section)
    if cls is None:
        raise _unknown_key(key)
    for f in dataclasses.fields(cls):
        if f.name == name:
            return {"str": str, "int": int, "float": float, "bool": bool}[f.type if isinstance(f.type, str) else f.type.__name__]
    raise _unknown_key(key)


def coerce(key: str, value: Any) -> Any:
    """Convert ``value`` (a string from the command line, or a JSON value) to the type of ``key``."""
    kind = _field_type(key)
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, int):
                return value
            as_float = float(text)
            if not as_float.is_integer():
                raise ValueError
            return int(as_float)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError
            number = float(text)
            if not math.isfinite(number):
                raise GankitError(f"{key}: must be a finite number, got {text!r}")
            return number
        if not isinstance(value, str):
            raise ValueError
        return value
    except (ValueError, OverflowError):
        raise GankitError(f"{key}: expected {kind.__name__}, got {text!r}") from None


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``["train.k=3", "seed=1"]`` -> ``{"train.k": 3, "seed": 1}``, typed and checked."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise GankitError(f"--set {item!r}: expected key=value, e.g. train.k=3")
        out[key] = coerce(key, value.strip())
    return out


def apply(cfg: Config, overrides: dict[str, Any]) -> Config:
    """A new Config with dotted ``overrides`` applied (values are coerced to the field types)."""
    top: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        value = coerce(key, value)
        if key in TOP_LEVEL:
            top[key] = value
        else:
            section, _, name = key.partition(".")
            sections.setdefault(section, {})[name] = value
    changes = {s: dataclasses.replace(getattr(cfg, s), **v) for s, v in sections.items()}
    return dataclasses.replace(cfg, **top, **changes)


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise GankitError(f"{key}: {message}")


def validate(cfg: Config) -> Config:
    """Check every range and name; raise GankitError naming the first bad key."""
    from gankit.data import DATASETS
    from gankit.augment import parse_policy
    from gankit.losses import GENERATOR_COSTS, LOSSES
    from gankit.models import FAMILIES

    d, m, t, log = cfg.data, cfg.model, cfg.train, cfg.log
    _check(cfg.seed >= 0, "seed", f"must be >= 0, got {cfg.seed}")
    _check(d.name in DATASETS, "data.name", f"unknown data set {d.name!r}; valid: {', '.join(DATASETS)}")
    _check(d.batch_size >= 1, "data.batch_size", f"must be >= 1, got {d.batch_size}")
    _check(d.image_size >= 0, "data.image_size", f"must be >= 0, got {d.image_size}")
    _check(d.channels in (0, 1, 3), "data.channels", f"must be 0, 1 or 3, got {d.channels}")
    _check(d.sd > 0, "data.sd", f"must be > 0, got {d.sd}")
    if d.classes:
        parse_classes(d.classes)
        _check(d.name not in UNLABELLED_DATASETS, "data.classes", f"{d.name} has no class labels to choose from")
    _check(m.family in FAMILIES, "model.family", f"unknown family {m.family!r}; valid: {', '.join(FAMILIES)}")
    _check(m.z_dim >= 1, "model.z_dim", f"must be >= 1, got {m.z_dim}")
    _check(m.width >= 1, "model.width", f"must be >= 1, got {m.width}")
    _check(m.d_width >= 0, "model.d_width", f"must be >= 0, got {m.d_width}")
    _check(m.depth >= 1, "model.depth", f"must be >= 1, got {m.depth}")
    _check(m.d_extra >= 0, "model.d_extra", f"must be >= 0, got {m.d_extra}")
    _check(not m.d_extra or m.family == "dcgan", "model.d_extra", f"needs model.family dcgan, got {m.family}")
    _check(m.memory_format in MEMORY_FORMATS, "model.memory_format",
           f"must be one of {', '.join(MEMORY_FORMATS)}, got {m.memory_format!r}")
    _check(m.thin_deconv in THIN_DECONV_KERNELS, "model.thin_deconv",
           f"must be one of {', '.join(THIN_DECONV_KERNELS)}, got {m.thin_deconv!r}")
    _check(m.noise in ("gaussian", "uniform"), "model.noise", f"must be gaussian or uniform, got {m.noise!r}")
    _check(m.conditional in ("", "cgan", "acgan"), "model.conditional",
           f"must be '' (none), cgan or acgan, got {m.conditional!r}")
    if m.conditional:
        _check(m.family in ("mlp", "dcgan", "resnet"), "model.conditional",
               f"{m.conditional} needs model.family mlp, dcgan or resnet, got {m.family}")
        _check(d.name not in UNLABELLED_DATASETS, "model.conditional",
               f"{m.conditional} needs a data set with class labels; {d.name} has none")
    _check(t.steps >= 1, "train.steps", f"must be >= 1, got {t.steps}")
    _check(t.k >= 1, "train.k", f"must be >= 1, got {t.k}")
    _check(t.g_cost in GENERATOR_COSTS, "train.g_cost",
           f"unknown generator cost {t.g_cost!r}; valid: {', '.join(GENERATOR_COSTS)}")
    _check(t.loss in LOSSES, "train.loss", f"unknown loss {t.loss!r}; valid: {', '.join(LOSSES)}")
    _check(t.loss == "gan" or t.g_cost == "nonsaturating", "train.g_cost",
           f"g_cost={t.g_cost} chooses among the paper's costs (train.loss=gan); train.loss={t.loss} has its "
           f"own generator loss")
    _check(t.gp >= 0, "train.gp", f"must be >= 0, got {t.gp}")
    _check(t.r1 >= 0, "train.r1", f"must be >= 0, got {t.r1}")
    _check(0 <= t.label_smoothing < 1, "train.label_smoothing", f"must be in [0, 1), got {t.label_smoothing}")
    _check(t.loss == "gan" or not t.label_smoothing, "train.label_smoothing",
           f"smooths the cross-entropy's data target (train.loss=gan); train.loss={t.loss} has no labels")
    _check(t.instance_noise >= 0, "train.instance_noise", f"must be >= 0, got {t.instance_noise}")
    _check(t.instance_noise_steps >= 0, "train.instance_noise_steps", f"must be >= 0, got {t.instance_noise_steps}")
    parse_policy(t.augment)
    _check(0 <= t.ada_target <= 1, "train.ada_target", f"must be in [0, 1], got {t.ada_target}")
    _check(t.ada_kimg > 0, "train.ada_kimg", f"must be > 0, got {t.ada_kimg}")
    _check(t.ada_interval >= 1, "train.ada_interval", f"must be >= 1, got {t.ada_interval}")
    _check(not t.augment or d.name not in UNLABELLED_DATASETS, "train.augment",
           f"DiffAugment transforms images; {d.name} is not an image data set")
    _check(t.micro_batches >= 1, "train.micro_batches", f"must be >= 1, got {t.micro_batches}")
    _check(d.batch_size % t.micro_batches == 0, "train.micro_batches",
           f"{t.micro_batches} parts must split data.batch_size={d.batch_size} evenly")
    _check(m.pack >= 1, "model.pack", f"must be >= 1, got {m.pack}")
    _check(m.mbstd >= 0, "model.mbstd", f"must be >= 0, got {m.mbstd}")
    _check(not m.spectral_norm or m.family in ("mlp", "paper-mlp", "dcgan", "resnet"), "model.spectral_norm",
           f"needs model.family mlp, paper-mlp, dcgan or resnet, got {m.family}")
    for key, on in (("model.pack", m.pack > 1), ("model.mbstd", m.mbstd > 0)):
        _check(not on or m.family in ("mlp", "paper-mlp", "dcgan"), key,
               f"needs model.family mlp, paper-mlp or dcgan, got {m.family}")
    _check(not m.g_batchnorm or m.family == "paper-mlp", "model.g_batchnorm",
           f"needs model.family paper-mlp (dcgan's generator has BatchNorm already), got {m.family}")
    # D sees the rows of a minibatch, or of each of its train.micro_batches parts, at once
    n = t.micro_batches  # (checked above)
    part, where = d.batch_size // n, "minibatch" if n == 1 else f"part (train.micro_batches={n})"
    whole = f"data.batch_size={d.batch_size}" if n == 1 else f"the {part} rows of each part (train.micro_batches={n})"
    _check(part % m.pack == 0, "model.pack", f"pack={m.pack} must divide {whole} (D judges batch_size / pack packs)")
    _check(m.pack == 1 or not m.conditional, "model.pack",
           f"packs mix samples of different classes; model.conditional={m.conditional} needs pack=1")
    _check(not m.mbstd or (part // m.pack) % m.mbstd == 0, "model.mbstd",
           f"group size {m.mbstd} must divide the {part // m.pack} inputs D sees per {where} "
           f"(data.batch_size / model.pack)")
    _check(m.clusters == 0 or m.clusters >= 2, "model.clusters", f"must be 0 (off) or >= 2, got {m.clusters}")
    if m.clusters:
        _check(m.family in ("mlp", "dcgan"), "model.clusters", f"needs model.family mlp or dcgan, got {m.family}")
        _check(not m.conditional, "model.clusters",
               f"conditions on clusters instead of classes; model.conditional={m.conditional} needs clusters=0")
        _check(m.pack == 1, "model.clusters", f"packs mix samples of different clusters; model.pack={m.pack} "
                                              f"needs clusters=0")
    if t.plain:
        for key, value in PLAIN_GAME.items():
            section, _, name = key.partition(".")
            got = getattr(getattr(cfg, section), name)
            _check(got == value, "train.plain", f"the paper's plain game has {key}={value}, got {key}={got}")
    _check(t.optimizer in ("adam", "sgd"), "train.optimizer", f"must be adam or sgd, got {t.optimizer!r}")
    for key in ("lr_g", "lr_d"):
        _check(getattr(t, key) > 0, f"train.{key}", f"must be > 0, got {getattr(t, key)}")
    for key in ("beta1", "beta2", "momentum", "momentum_final"):
        v = getattr(t, key)
        _check(0 <= v < 1, f"train.{key}", f"must be in [0, 1), got {v}")
    _check(t.momentum_steps >= 1, "train.momentum_steps", f"must be >= 1, got {t.momentum_steps}")
    _check(t.momentum_epochs >= 0, "train.momentum_epochs", f"must be >= 0, got {t.momentum_epochs}")
    _check(0 < t.lr_decay <= 1, "train.lr_decay", f"must be in (0, 1], got {t.lr_decay}")
    _check(t.lr_min >= 0, "train.lr_min", f"must be >= 0, got {t.lr_min}")
    _check(t.on_nan in ("stop", "rollback"), "train.on_nan", f"must be stop or rollback, got {t.on_nan!r}")
    _check(t.threads >= 0, "train.threads", f"must be >= 0, got {t.threads}")
    # Only the spelling here: whether the device exists is checked when training starts, so a
    # config.json written on a GPU machine still loads on a laptop for sample and eval.
    _check(re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", t.device) is not None, "train.device",
           f"must be auto, cpu, cuda, cuda:N or mps, got {t.device!r}")
    _check(t.precision in PRECISIONS, "train.precision", f"must be one of {', '.join(PRECISIONS)}, got {t.precision!r}")
    _check(t.class_weight >= 0, "train.class_weight", f"must be >= 0, got {t.class_weight}")
    _check(t.fake_class_weight >= 0, "train.fake_class_weight", f"must be >= 0, got {t.fake_class_weight}")
    _check(0 <= t.ema < 1, "train.ema", f"must be in [0, 1), got {t.ema}")
    _check(t.method in ("gan", "vae"), "train.method", f"must be gan or vae, got {t.method!r}")
    _check(t.vae_sigma > 0, "train.vae_sigma", f"must be > 0, got {t.vae_sigma}")
    if t.method == "vae":  # the ELBO's KL term is for a N(0, I) prior and an unconditional decoder
        for key, ok in (("model.noise", m.noise == "gaussian"), ("model.conditional", not m.conditional),
                        ("model.clusters", not m.clusters), ("train.ema", not t.ema),
                        ("model.family", m.family in ("mlp", "paper-mlp", "dcgan")),
                        ("train.micro_batches", t.micro_batches == 1)):
            _check(ok, key, f"train.method=vae needs the default here (a Gaussian, unconditional mlp, paper-mlp or "
                            f"dcgan decoder without a weight average, whole minibatches), got "
                            f"{getattr(m if key.startswith('model') else t, key.split('.')[1])!r}")
    for key in ("every", "sample_every", "checkpoint_every", "grid", "keep"):
        _check(getattr(log, key) >= 1, f"log.{key}", f"must be >= 1, got {getattr(log, key)}")
    _check(cfg.eval.every >= 0, "eval.every", f"must be >= 0, got {cfg.eval.every}")
    _check(cfg.eval.num >= 2, "eval.num", f"must be >= 2, got {cfg.eval.num}")
    _check(cfg.eval.best_mode in ("min", "max"), "eval.best_mode", f"must be min or max, got {cfg.eval.best_mode!r}")
    _check(not cfg.eval.best or cfg.eval.every > 0, "eval.best",
           f"keeps the best checkpoint by {cfg.eval.best!r} among evaluations: set eval.every too")
    _check(not cfg.eval.best or cfg.eval.every % cfg.log.checkpoint_every == 0, "eval.best",
           f"the best evaluation's checkpoint must exist: eval.every ({cfg.eval.every}) must be a multiple of "
           f"log.checkpoint_every ({cfg.log.checkpoint_every})")
    if cfg.eval.metrics:
        from gankit.metrics import METRICS

        for name in cfg.eval.metrics.split(","):
            _check(name.strip() in METRICS, "eval.metrics",
                   f"unknown metric {name.strip()!r}; valid: {', '.join(METRICS)}")
    if m.family == "toy":
        _check(d.name == "gauss1d" and m.z_dim == 1, "model.family",
               "toy (the shift generator) needs data.name=gauss1d and model.z_dim=1")
    return cfg


def resolve(preset: str, overrides: dict[str, Any] | None = None) -> Config:
    """The validated Config for ``preset`` with ``overrides`` (dotted keys) applied."""
    if preset not in PRESETS:
        close = difflib.get_close_matches(preset, PRESETS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise GankitError(f"unknown preset {preset!r}{hint} (valid: {', '.join(PRESETS)})")
    cfg = apply(Config(preset=preset), PRESETS[preset][1])
    overrides = overrides or {}
    if coerce("train.plain", overrides.get("train.plain", False)):
        cfg = apply(cfg, PLAIN_GAME)  # then the user's own settings, which validate() checks against it
    return validate(apply(cfg, overrides))


def from_dict(raw: dict[str, Any]) -> Config:
    """Rebuild a Config from ``to_dict()`` output (e.g. RUN/config.json), validating it."""
    if not isinstance(raw, dict):
        raise GankitError("config: expected a JSON object")
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "preset":
            continue
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return validate(apply(Config(preset=str(raw.get("preset", ""))), flat))
