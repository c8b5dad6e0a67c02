import math

import pytest
import torch
from torch.testing import assert_close

from gankit import GankitError
from gankit.metrics.scores import class_histogram, inception_score, kl_to_uniform, per_class_accuracy


def test_inception_score_hand_computed_two_class_case():
    # p(y|x1) = (0.9, 0.1), p(y|x2) = (0.1, 0.9); p(y) = (0.5, 0.5).
    logits = torch.log(torch.tensor([[0.9, 0.1], [0.1, 0.9]], dtype=torch.float64))
    kl = 0.9 * math.log(0.9 / 0.5) + 0.1 * math.log(0.1 / 0.5)
    mean, std = inception_score(logits)
    assert_close(mean, math.exp(kl))
    assert std == 0.0


def test_inception_score_extremes_are_one_and_the_number_of_classes():
    assert_close(inception_score(torch.zeros(20, 10))[0], 1.0)  # every p(y|x) uniform
    confident = 60.0 * torch.eye(10).repeat(3, 1)  # each class predicted with certainty, evenly
    assert_close(inception_score(confident)[0], 10.0)
    assert_close(inception_score(60.0 * torch.eye(10)[[3] * 30])[0], 1.0)  # one class only


def test_inception_score_splits_average_per_split_scores():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(40, 5, generator=g)
    parts = [inception_score(p)[0] for p in logits.chunk(4)]
    mean, std = inception_score(logits, splits=4)
    assert_close(mean, sum(parts) / 4)
    assert_close(std, float(torch.tensor(parts).std(unbiased=False)))


def test_histogram_and_kl_to_uniform():
    logits = 5.0 * torch.eye(4)[[0, 0, 1, 3]]
    assert class_histogram(logits).tolist() == [2, 1, 0, 1]
    assert_close(kl_to_uniform(torch.tensor([5, 5, 5, 5])), 0.0)
    assert_close(kl_to_uniform(torch.tensor([0, 7, 0, 0])), math.log(4))
    q = torch.tensor([0.5, 0.25, 0.0, 0.25])
    assert_close(kl_to_uniform(torch.tensor([2, 1, 0, 1])), float((q[q > 0] * torch.log(4 * q[q > 0])).sum()))
    with pytest.raises(GankitError):
        kl_to_uniform(torch.zeros(3))


def test_per_class_accuracy_with_a_class_never_requested():
    logits = 5.0 * torch.eye(3)[[0, 1, 1, 1]]
    labels = torch.tensor([0, 0, 1, 1])
    acc = per_class_accuracy(logits, labels)
    assert_close(acc[:2], torch.tensor([0.5, 1.0], dtype=torch.float64))
    assert math.isnan(acc[2])
    with pytest.raises(GankitError, match="labels"):
        per_class_accuracy(logits, torch.tensor([0, 1, 2, 3]))
