"""``gankit eval`` for any images: a run or two sets, under the user's TorchScript feature network.

- ``eval_run_features``: a run's samples against its training images (or a given real set),
  FID/KID under ``--features FILE`` (``gankit.metrics.features``).
- ``eval_sets``: two sets of images (folders or .npz), StudioGAN's ``--dset1 --dset2``;
  28x28 grey digits may use the bundled digit CNN, anything else needs ``--features``.
- ``eval_run_pixels``: a run of images the bundled digit CNN does not apply to, without a
  feature network: the pixel-space nearest-neighbour report, and the memorisation check when
  the data have a test split. The caller states why no FID is given (``NO_FEATURES_NOTE``).
"""

from __future__ import annotations

from typing import Any

import torch

from gankit.errors import GankitError
from gankit.metrics.features import FeatureSpec, compare, load_feature_net, pixel_report, read_image_set
from gankit.runs import DEFAULT_EVAL_NUM, EVAL_NUM, Run, evaluate_generator, generate, num_classes, uniform_labels

NO_FEATURES_NOTE = ("the bundled digit CNN applies to 28x28 grey digits only, not to this run's {shape} images: "
                    "no FID/KID without --features FILE (a TorchScript feature network); pixel-space checks only")
DIGIT_SHAPE = (1, 28, 28)


def needs_features(run: Run) -> bool:
    """True for a run of images that the bundled digit CNN does not apply to."""
    from gankit.metrics.evaluation import DIGIT_DATASETS, STACKED_DATASETS

    return len(run.shape) == 3 and run.cfg.data.name not in DIGIT_DATASETS + STACKED_DATASETS + ("digits",)


def _samples(run: Run, num: int | None, seed: int) -> torch.Tensor:
    num = num or EVAL_NUM.get(run.cfg.data.name, DEFAULT_EVAL_NUM)
    labels = uniform_labels(num, num_classes(run.G), seed) if num_classes(run.G) else None
    return generate(run.G, num, seed=seed, labels=labels)


def _train_images(run: Run) -> torch.Tensor:
    from gankit.train import load_data

    data = load_data(run.cfg)
    if not hasattr(data, "x") or data.x.dim() != 4:
        raise GankitError(f"{run.path}: its data set {run.cfg.data.name!r} holds no images")
    return data.x


def eval_run_features(run: Run, features: str, spec: FeatureSpec, num: int | None = None, seed: int = 0,
                      real: str = "") -> dict[str, Any]:
    """FID/KID of ``num`` samples of the run against its training images (or the set ``real``)."""
    spec.check()
    net, digest = load_feature_net(features)
    reference = read_image_set(real) if real else _train_images(run)
    result = compare(reference, _samples(run, num, seed), net, spec, file=str(features), digest=digest, seed=seed)
    result["real"] = real or f"the run's training data ({run.cfg.data.name} {run.cfg.data.path})".strip()
    return result


def eval_sets(real: str, fake: str, features: str = "", spec: FeatureSpec = FeatureSpec(),
              seed: int = 0) -> dict[str, Any]:
    """FID/KID between two sets of images; without ``features`` only for 28x28 grey digits (bundled CNN)."""
    spec.check()
    x_real, x_fake = read_image_set(real), read_image_set(fake)
    if features:
        net, digest = load_feature_net(features)
        result = compare(x_real, x_fake, net, spec, file=str(features), digest=digest, seed=seed)
    else:
        shapes = {tuple(x_real.shape[1:]), tuple(x_fake.shape[1:])}
        if shapes != {DIGIT_SHAPE}:
            raise GankitError(f"--real/--fake images of shape {' and '.join(map(str, sorted(shapes)))}: the bundled "
                              "digit CNN applies to 28x28 grey digits only; give --features FILE (TorchScript)")
        from gankit.metrics import classifier, frechet

        net = classifier.FeatureNet(classifier.load_classifier())
        f_real, f_fake = frechet.extract_features(net, x_real), frechet.extract_features(net, x_fake)
        kid, kid_std = frechet.kid_from_features(f_real, f_fake, 100, 1000, seed)
        result = {"fid_cnn": frechet.fid_from_features(f_real, f_fake), "kid": kid, "kid_std": kid_std,
                  "n_real": len(x_real), "n_fake": len(x_fake),
                  "features": {"file": "bundled digit CNN (gankit/assets/mnist5k_cnn.safetensors)"}}
    return {"real": str(real), "fake": str(fake), **result}


def eval_run_pixels(run: Run, num: int | None = None, seed: int = 0) -> dict[str, Any]:
    """Pixel-space report of a run's samples (+ the memorisation check where a test split exists)."""
    from gankit.train import load_data

    fake = _samples(run, num, seed)
    result: dict[str, Any] = {"n": len(fake), **pixel_report(fake, _train_images(run), seed=seed)}
    try:
        load_data(run.cfg, "test")
    except GankitError:
        return result
    result.update(evaluate_generator(run.cfg, run.G, ["memorisation"], len(fake), seed=seed))
    return result
