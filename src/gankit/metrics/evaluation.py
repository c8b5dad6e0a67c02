"""One entry point: ``evaluate(fake, dataset)`` computes the metrics that fit the data.

The metrics are registered in a plain dict, ``METRICS``, of name -> function; each function
takes the evaluation context and returns a few flat entries of the result. ``evaluate``
loads the real splits itself (``gankit.data.load_dataset``) and returns one flat dict of
numbers (None where a value is undefined), ready for ``json.dumps``.

Real sets, for a data set with ``train`` and ``test`` splits:

- R, the reference: the training split (the distribution the generator was fit to);
- H, held-out real data: the ``test`` split.

FID, KID and PRDC compare the first n = min(N_fake, |H|) generated samples with R; their
*floor* is the same statistic for n held-out real images in place of the samples: what a
perfect generator would score at this sample size (Heusel et al. 2017 and Bińkowski et al.
2018 both show these estimators depend on n). The IS analogue, the class histogram,
Parzen and the memorisation check use all the samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from gankit.data import load_dataset
from gankit.data.base import TensorData, ToyDistribution, held_out_pair
from gankit.data.toy import GaussianMixture2D
from gankit.errors import GankitError
from gankit.metrics import classifier, frechet, memorisation, modes, parzen, precision_recall, scores

Result = dict[str, Any]

DIGIT_DATASETS = ("mnist5k", "mnist")  # 28x28 handwritten digits: the bundled CNN applies
MIXTURE_DATASETS = ("ring8", "grid25")
STACKED_DATASETS = ("stacked-mnist5k",)
PARZEN_VALID_SPLIT = "valid"  # used only when the model trained on "train-minus-valid" (disjoint from it)
PARZEN_VALID_LIMIT = 1000  # validation images sigma is chosen on (goodfeli/adversarial's parzen_ll.py)
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000


@dataclass
class Context:
    """What every metric function sees: the samples, the data set, and lazily loaded real data.

    Attributes:
        fake: generated samples on the CPU, float32, in the data's own space.
        dataset: the data set's name in ``gankit.data.DATASETS``.
        data_path: the user's files for data sets read from disk.
        train_split: the split the generator was trained on (the reference R).
        fake_labels: the labels of conditional samples, (N,) int64, or None.
        seed: seeds every random draw (subsets of real data, KID's subsets).
        inception_weights: path of ``inception-2015-12-05.pt`` for Inception-FID, or "".
        G: the generator itself, for the metrics that query it (``inversion``), or None.
        train_classes: ``data.classes`` of the run ("" for all): the classes G was trained on.
    """

    fake: torch.Tensor
    dataset: str
    data_path: str = ""
    train_split: str = "train"
    fake_labels: torch.Tensor | None = None
    seed: int = 0
    inception_weights: str = ""
    G: Any = None
    train_classes: str = ""
    _splits: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def split(self, name: str) -> TensorData | ToyDistribution:
        if name not in self._splits:
            self._splits[name] = load_dataset(self.dataset, name, path=self.data_path)
        return self._splits[name]

    @property
    def train(self) -> TensorData:
        return self.split(self.train_split)

    @property
    def heldout(self) -> TensorData:
        return self.split("test")

    @property
    def n(self) -> int:
        """The sample size of FID, KID and PRDC: min(N_fake, |H|)."""
        return min(len(self.fake), len(self.heldout))

    def draw(self, key: str, x: torch.Tensor, n: int) -> torch.Tensor:
        """A seeded subset of n rows of ``x`` (all of them, in order, when n >= len(x))."""
        if n >= len(x):
            return x
        g = torch.Generator().manual_seed(self.seed * 7919 + sum(map(ord, key)))
        return x[torch.randperm(len(x), generator=g)[:n]]

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    # -- the bundled digit CNN ------------------------------------------------------------
    def cnn(self) -> classifier.DigitCNN:
        return self.cached("cnn", classifier.load_classifier)

    def cnn_outputs(self, which: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(features, logits) of the CNN on "fake", "fake_n", "heldout", "heldout_n" or "train"."""
        if which == "fake_n":  # the first n samples: a slice of the outputs on all of them
            f, logits = self.cnn_outputs("fake")
            return f[: self.n], logits[: self.n]
        if which == "heldout_n" and self.n >= len(self.heldout):  # the draw is the whole split
            return self.cnn_outputs("heldout")
        images = {
            "fake": lambda: self.fake,
            "heldout": lambda: self.heldout.x,
            "heldout_n": lambda: self.draw("heldout", self.heldout.x, self.n),
            "train": lambda: self.train.x,
        }[which]
        return self.cached(which, lambda: classifier.classify(self.cnn(), images()))

    def train_n_features(self) -> torch.Tensor:
        """CNN features of a seeded draw of n training images (PRDC wants equal set sizes)."""
        f, _ = self.cnn_outputs("train")
        return self.draw("train", f, self.n)


def _need(ok: bool, metric: str, what: str, ctx: Context) -> None:
    if not ok:
        shape = tuple(ctx.fake.shape[1:])
        raise GankitError(f"metric {metric!r} needs {what}; got data set {ctx.dataset!r} with samples of shape {shape}")


def _need_digits(ctx: Context, metric: str) -> None:
    _need(ctx.fake.dim() == 4 and tuple(ctx.fake.shape[1:]) == (1, 28, 28), metric, "28x28 grayscale images", ctx)


def _fid_cnn(ctx: Context) -> Result:
    """Fréchet distance on the bundled CNN's features (FID-CNN), with its real-vs-real floor."""
    _need_digits(ctx, "fid_cnn")
    real = ctx.cnn_outputs("train")[0]
    return {
        "fid_cnn": frechet.fid_from_features(real, ctx.cnn_outputs("fake_n")[0]),
        "fid_cnn_floor": frechet.fid_from_features(real, ctx.cnn_outputs("heldout_n")[0]),
        "fid_n": ctx.n,
    }


def _kid(ctx: Context) -> Result:
    """Kernel distance (KID) on the bundled CNN's features, mean and std over subsets, with its floor."""
    _need_digits(ctx, "kid")
    real = ctx.cnn_outputs("train")[0]
    kid, kid_std = frechet.kid_from_features(real, ctx.cnn_outputs("fake_n")[0], KID_SUBSETS, KID_SUBSET_SIZE, ctx.seed)
    floor, floor_std = frechet.kid_from_features(
        real, ctx.cnn_outputs("heldout_n")[0], KID_SUBSETS, KID_SUBSET_SIZE, ctx.seed
    )
    return {"kid": kid, "kid_std": kid_std, "kid_floor": floor, "kid_floor_std": floor_std, "fid_n": ctx.n}


def _is_cnn(ctx: Context) -> Result:
    """Inception-Score analogue on the bundled CNN (all samples), and the same for the held-out data."""
    _need_digits(ctx, "is_cnn")
    return {
        "is_cnn": scores.inception_score(ctx.cnn_outputs("fake")[1])[0],
        "is_cnn_real": scores.inception_score(ctx.cnn_outputs("heldout")[1])[0],
    }


def _classes(ctx: Context) -> Result:
    """Predicted-class histogram of the samples: its KL to uniform and the number of classes never produced."""
    _need_digits(ctx, "classes")
    counts = scores.class_histogram(ctx.cnn_outputs("fake")[1], classifier.DigitCNN.num_classes)
    return {"class_kl_uniform": scores.kl_to_uniform(counts), "classes_missing": int((counts == 0).sum())}


def _cond_accuracy(ctx: Context) -> Result:
    """Conditional samples: fraction classified as their requested label, overall, for the worst class and per class."""
    _need_digits(ctx, "cond_accuracy")
    _need(ctx.fake_labels is not None, "cond_accuracy", "the labels of conditional samples (fake_labels)", ctx)
    logits = ctx.cnn_outputs("fake")[1]
    acc = scores.per_class_accuracy(logits, ctx.fake_labels, classifier.DigitCNN.num_classes)
    overall = float((logits.argmax(1) == ctx.fake_labels).double().mean())
    present = acc[~torch.isnan(acc)]
    per_class = {f"cond_accuracy_class_{c}": float(a) for c, a in enumerate(acc.tolist())}  # NaN -> None
    return {"cond_accuracy": overall, "cond_accuracy_min": float(present.min()), **per_class}


def _fid_cnn_per_class(ctx: Context) -> Result:
    """Conditional samples: FID-CNN of each class's samples vs that class's training images, their mean, and its floor."""
    _need_digits(ctx, "fid_cnn_per_class")
    _need(ctx.fake_labels is not None, "fid_cnn_per_class", "the labels of conditional samples (fake_labels)", ctx)
    fake, real, held = ctx.cnn_outputs("fake")[0], ctx.cnn_outputs("train")[0], ctx.cnn_outputs("heldout")[0]
    out: Result = {}
    fids, floors, sizes = [], [], []
    for c in range(classifier.DigitCNN.num_classes):
        fake_c, real_c, held_c = fake[ctx.fake_labels == c], real[ctx.train.y == c], held[ctx.heldout.y == c]
        # As for fid_cnn: n_c = min(samples, held-out images) of the class, and the floor is
        # n_c held-out images of the class in place of the samples.
        n_c = min(len(fake_c), len(held_c))
        if n_c < 2 or len(real_c) < 2:
            out[f"fid_cnn_class_{c}"] = None
            continue
        fid_c = frechet.fid_from_features(real_c, fake_c[:n_c])
        floors.append(frechet.fid_from_features(real_c, ctx.draw(f"heldout_class_{c}", held_c, n_c)))
        out[f"fid_cnn_class_{c}"] = fid_c
        fids.append(fid_c)
        sizes.append(n_c)
    _need(bool(fids), "fid_cnn_per_class", "at least 2 samples of some class", ctx)
    return {"fid_cnn_per_class": sum(fids) / len(fids), "fid_cnn_per_class_floor": sum(floors) / len(floors),
            "fid_cnn_per_class_n_min": min(sizes), **out}


def _prdc(ctx: Context) -> Result:
    """Precision, recall, density, coverage on the bundled CNN's features (n samples vs n training images)."""
    _need_digits(ctx, "prdc")
    out = precision_recall.prdc(ctx.train_n_features(), ctx.cnn_outputs("fake_n")[0])
    return {**out, "fid_n": ctx.n}


def _parzen(ctx: Context) -> Result:
    """Parzen-window log-likelihood of the test data (Goodfellow et al. 2014), pixels in [0, 1]."""
    _need(isinstance(ctx.split("test"), TensorData), "parzen", "a data set with a test split", ctx)
    # Without a validation split disjoint from the training data, sigma is chosen on one fixed half of the test
    # split and the other is scored.
    valid, test = (d.x for d in held_out_pair(ctx.heldout, ctx.train_split, lambda: ctx.split(PARZEN_VALID_SPLIT)))
    if ctx.train_split == "train-minus-valid":
        valid = valid[:PARZEN_VALID_LIMIT]  # the paper's parzen_ll.py: the first 1,000 validation images (--limit_size)
    to01 = (lambda x: (x + 1) / 2) if ctx.fake.dim() == 4 else (lambda x: x)  # images: [-1, 1] -> [0, 1]
    ll, se, sigma = parzen.parzen_log_likelihood(to01(ctx.fake), to01(valid), to01(test))
    return {"parzen_ll": ll, "parzen_se": se, "parzen_sigma": sigma, "parzen_n_test": len(test)}


def _memorisation(ctx: Context) -> Result:
    """Copies of training images among the samples (pixel space; see gankit.metrics.memorisation)."""
    _need(isinstance(ctx.split("test"), TensorData), "memorisation", "a data set with a test split", ctx)
    out = memorisation.check_memorisation(ctx.fake, ctx.train.x, ctx.heldout.x)
    return {f"mem_{k}": v for k, v in out.items()}


def _modes(ctx: Context) -> Result:
    """2D mixtures: modes covered, high-quality fraction, reverse KL (PacGAN / VEEGAN definitions)."""
    data = ctx.split("train")
    _need(isinstance(data, GaussianMixture2D), "modes", "a 2D Gaussian mixture (ring8, grid25)", ctx)
    _need(ctx.fake.dim() == 2 and ctx.fake.shape[1] == data.modes.shape[1], "modes", "points of shape (N, 2)", ctx)
    count = modes.mixture_modes(ctx.fake, data.modes, data.sd)
    return {"modes": count.modes, "modes_total": count.total, "hq_fraction": count.hq_fraction,
            "reverse_kl": count.reverse_kl}


def _stacked_modes(ctx: Context) -> Result:
    """Stacked MNIST: modes covered out of 1,000 and reverse KL, by the bundled CNN on each channel."""
    _need(ctx.fake.dim() == 4 and tuple(ctx.fake.shape[1:]) == (3, 28, 28), "stacked_modes",
          "stacked digits of shape (N, 3, 28, 28)", ctx)
    count = modes.stacked_modes(ctx.cnn(), ctx.fake)
    return {"modes": count.modes, "modes_total": count.total, "reverse_kl": count.reverse_kl,
            "modes_n": len(ctx.fake)}


INVERSION_MAX = 1000  # held-out images inverted (all of mnist5k's test split), and as many training images
INVERSION_STEPS = 200  # Adam steps on z per image (gankit invert's default)


def _inversion(ctx: Context) -> Result:
    """Reconstruction error min_z |G(z) - x|^2 of held-out (per class, worst class) and training images."""
    from gankit.data.base import parse_classes, select_classes
    from gankit.invert import class_means, invert

    _need(ctx.G is not None, "inversion", "the generator itself (gankit eval RUN)", ctx)
    _need(isinstance(ctx.split("test"), TensorData), "inversion", "a data set with a test split", ctx)
    conditional = bool(getattr(ctx.G, "num_classes", 0))
    _need(not conditional or ctx.heldout.y is not None, "inversion", "labelled data for a conditional generator", ctx)

    def run(data: TensorData, key: str):
        n = min(INVERSION_MAX, len(data))
        idx = ctx.draw(key, torch.arange(len(data)), n)
        labels = None if data.y is None else data.y[idx]
        return invert(ctx.G, data.x[idx], labels, steps=INVERSION_STEPS, seed=ctx.seed), labels

    held, held_labels = run(ctx.heldout, "inversion_heldout")
    train = ctx.train
    if ctx.train_classes:
        train = select_classes(train, parse_classes(ctx.train_classes))
    train_inv, _ = run(train, "inversion_train")
    out: Result = {"inversion": float(held.error.mean()), "inversion_train": float(train_inv.error.mean()),
                   "inversion_n": len(held.error)}
    if held_labels is not None:
        per_class = class_means(held.error, held_labels)
        worst = max(per_class, key=per_class.get)
        out.update(inversion_per_class=per_class, inversion_worst_class=worst,
                   inversion_worst_class_error=per_class[worst])
    return out


def _fid_inception(ctx: Context) -> Result:
    """FID on Inception-v3 pool features (needs the local weights file), with its floor."""
    _need(ctx.fake.dim() == 4 and ctx.fake.shape[1] in (1, 3), "fid_inception", "images with 1 or 3 channels", ctx)
    net = frechet.inception_feature(ctx.inception_weights)
    real = frechet.extract_features(net, ctx.train.x, batch_size=100)
    return {
        "fid_inception": frechet.fid_from_features(real, frechet.extract_features(net, ctx.fake[: ctx.n], 100)),
        "fid_inception_floor": frechet.fid_from_features(
            real, frechet.extract_features(net, ctx.draw("heldout", ctx.heldout.x, ctx.n), 100)
        ),
        "fid_n": ctx.n,
    }


# name -> function(Context) -> flat dict. The first docstring line is the description.
METRICS: dict[str, Callable[[Context], Result]] = {
    "fid_cnn": _fid_cnn,
    "kid": _kid,
    "is_cnn": _is_cnn,
    "classes": _classes,
    "cond_accuracy": _cond_accuracy,
    "fid_cnn_per_class": _fid_cnn_per_class,
    "prdc": _prdc,
    "parzen": _parzen,
    "memorisation": _memorisation,
    "modes": _modes,
    "stacked_modes": _stacked_modes,
    "fid_inception": _fid_inception,
    "inversion": _inversion,  # slow (minutes on a CPU): never in the defaults
}


def describe_metrics() -> dict[str, str]:
    """name -> one-line description, for ``gankit eval --help`` and the docs."""
    return {name: (fn.__doc__ or "").strip().splitlines()[0] for name, fn in METRICS.items()}


def default_metrics(dataset: str, has_labels: bool = False, inception_weights: str = "") -> list[str]:
    """The metrics ``evaluate`` computes when none are named, by data set.

    28x28 digits: FID-CNN, KID, the IS analogue, the class histogram, PRDC, Parzen,
    memorisation (and, when labels are given, the conditional accuracy and per-class
    FID-CNN); 2D mixtures: modes;
    Stacked MNIST: stacked modes; 8x8 digits: Parzen and memorisation; other image data:
    memorisation (and Inception-FID when its weights are given); the 1D Gaussian: none (its divergences need the generator's density,
    see ``jsd_1d`` and ``wasserstein1_1d``).
    """
    if dataset in DIGIT_DATASETS:
        names = ["fid_cnn", "kid", "is_cnn", "classes", "prdc", "parzen", "memorisation"]
        return names + ["cond_accuracy", "fid_cnn_per_class"] if has_labels else names
    if dataset in MIXTURE_DATASETS:
        return ["modes"]
    if dataset in STACKED_DATASETS:
        return ["stacked_modes"]
    if dataset == "gauss1d":
        return []
    if dataset == "digits":  # 8x8: too small for the CNN; Parzen is cheap in 64 dimensions
        return ["parzen", "memorisation"]
    return ["memorisation"] + (["fid_inception"] if inception_weights else [])


def _json_value(v: Any) -> Any:
    """Floats stay floats, NaN and infinities become None (strict JSON has neither)."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, dict):  # e.g. {class: value}: JSON keys are strings
        return {str(k): _json_value(x) for k, x in v.items()}
    if isinstance(v, int):
        return v
    v = float(v)
    return v if math.isfinite(v) else None


def evaluate(
    fake: torch.Tensor,
    dataset: str,
    metrics: list[str] | None = None,
    fake_labels: torch.Tensor | None = None,
    seed: int = 0,
    data_path: str = "",
    *,
    train_split: str = "train",
    inception_weights: str = "",
    G: Any = None,
    train_classes: str = "",
) -> dict[str, Any]:
    """Evaluate generated samples against a data set's real splits.

    Args:
        fake: generated samples in the data's own space: images (N, C, H, W) in [-1, 1],
            toy points (N, d). For Parzen's protocol pass 10,000; for Stacked MNIST 26,000.
        dataset: a name in ``gankit.data.DATASETS``; the real splits are loaded from it.
        metrics: names in ``METRICS``; None picks ``default_metrics(dataset)``.
        fake_labels: (N,) int64 labels the samples were generated for (conditional models).
        seed: seeds the random subsets (real draws for the floors and PRDC, KID's subsets).
        data_path: the folder or file of data sets read from the user's files.
        train_split: the split the generator was trained on, the reference set R. With
            ``train-minus-valid`` Parzen chooses sigma on the disjoint ``valid`` split;
            otherwise on a fixed half of ``test``, reporting on the other half.
        inception_weights: local path of ``inception-2015-12-05.pt`` for ``fid_inception``.
        G: the generator (eval mode) for ``inversion``, which searches its latent space.
        train_classes: ``data.classes`` of the run: ``inversion_train`` inverts training
            images of those classes only (the held-out images are of every class).

    Returns:
        A flat dict of name -> int | float | None (None: undefined, e.g. a reverse KL with
        no high-quality sample; ``inversion_per_class`` alone is a {class: error} dict),
        always with ``n``, the number of samples; see
        ``describe_metrics()`` for what each metric adds.

    Raises:
        GankitError: unknown metric (listing the valid ones), a metric that does not fit the
            data, samples whose shape differs from the data's, or non-finite samples.
    """
    names = default_metrics(dataset, fake_labels is not None, inception_weights) if metrics is None else list(metrics)
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise GankitError(f"unknown metric {unknown[0]!r}; valid: {', '.join(METRICS)}")
    fake = fake.detach().to("cpu", torch.float32)
    if fake.dim() < 2 or len(fake) < 2:
        raise GankitError(f"evaluate: need at least 2 samples of shape (N, ...), got {tuple(fake.shape)}")
    if not torch.isfinite(fake).all():
        raise GankitError("evaluate: the samples contain NaN or Inf values")
    if fake_labels is not None:
        fake_labels = fake_labels.detach().to("cpu", torch.int64)
        if fake_labels.shape != (len(fake),):
            raise GankitError(f"evaluate: fake_labels must have shape ({len(fake)},), got {tuple(fake_labels.shape)}")
    ctx = Context(fake, dataset, data_path, train_split, fake_labels, seed, inception_weights, G, train_classes)
    # Stacked MNIST's real splits are large and no metric needs them: skip loading them here.
    data = None if dataset in STACKED_DATASETS else ctx.split(train_split)
    if data is not None and tuple(fake.shape[1:]) != tuple(data.shape):
        raise GankitError(
            f"evaluate: samples have shape {tuple(fake.shape[1:])} but {dataset!r} has {tuple(data.shape)}"
        )
    result: dict[str, Any] = {"n": len(fake)}
    for name in names:
        for key, value in METRICS[name](ctx).items():
            result[key] = _json_value(value)
    return result
