"""Evaluation of GANs, offline: the 2014 paper's protocol and today's metrics.

``evaluate(fake, dataset, metrics=None)`` loads the real data, computes the metrics that fit
it (``METRICS``, a plain dict of name -> function) and returns a flat, JSON-ready dict. The
pieces are usable on their own:

- ``parzen_log_likelihood``: the Parzen-window protocol of Goodfellow et al. (2014);
- ``frechet_distance``, ``fid``, ``kid``: FID and KID on a pluggable feature network
  (torchmetrics), the bundled digit CNN (``load_classifier``) or Inception-v3 from a local
  file (``inception_feature``);
- ``inception_score``, ``class_histogram``, ``kl_to_uniform``, ``per_class_accuracy``;
- ``mixture_modes``, ``stacked_modes``: mode coverage by the PacGAN / VEEGAN definitions;
- ``prdc``: precision, recall, density and coverage;
- ``check_memorisation``: copies of training images among the samples;
- ``jsd_1d``, ``wasserstein1_1d``: exact 1D divergences by quadrature.

Nothing here downloads anything.
"""

from gankit.metrics.classifier import DigitCNN, FeatureNet, classifier_info, classify, load_classifier
from gankit.metrics.divergences import gaussian_density, jsd_1d, wasserstein1_1d
from gankit.metrics.evaluation import METRICS, default_metrics, describe_metrics, evaluate
from gankit.metrics.frechet import (
    fid,
    fid_from_features,
    frechet_distance,
    inception_feature,
    kid,
    kid_from_features,
)
from gankit.metrics.memorisation import check_memorisation, nearest_distances
from gankit.metrics.modes import ModeCount, mixture_modes, stacked_labels, stacked_modes
from gankit.metrics.parzen import parzen_log_density, parzen_log_likelihood
from gankit.metrics.precision_recall import prdc
from gankit.metrics.scores import class_histogram, inception_score, kl_to_uniform, per_class_accuracy

__all__ = [
    "DigitCNN",
    "FeatureNet",
    "METRICS",
    "ModeCount",
    "check_memorisation",
    "class_histogram",
    "classifier_info",
    "classify",
    "default_metrics",
    "describe_metrics",
    "evaluate",
    "fid",
    "fid_from_features",
    "frechet_distance",
    "gaussian_density",
    "inception_feature",
    "inception_score",
    "jsd_1d",
    "kid",
    "kid_from_features",
    "kl_to_uniform",
    "load_classifier",
    "mixture_modes",
    "nearest_distances",
    "parzen_log_density",
    "parzen_log_likelihood",
    "per_class_accuracy",
    "prdc",
    "stacked_labels",
    "stacked_modes",
    "wasserstein1_1d",
]
