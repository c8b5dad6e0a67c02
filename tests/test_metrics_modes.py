import math

import torch
from torch.testing import assert_close

from gankit.data import embedded
from gankit.data.toy import grid25, ring8
from gankit.metrics.classifier import classify, load_classifier
from gankit.metrics.modes import mixture_modes, stacked_labels, stacked_modes


def test_all_modes_hit_exactly():
    ring = ring8()
    count = mixture_modes(ring.modes.repeat(5, 1), ring.modes, ring.sd)
    assert (count.modes, count.total, count.hq_fraction) == (8, 8, 1.0)
    assert count.counts.tolist() == [5] * 8
    assert_close(count.reverse_kl, 0.0)


def test_single_mode_collapse():
    ring = ring8()
    g = torch.Generator().manual_seed(0)
    samples = ring.modes[2] + ring.sd * 0.5 * torch.randn(100, 2, generator=g)
    count = mixture_modes(samples, ring.modes, ring.sd)
    assert (count.modes, count.hq_fraction) == (1, 1.0)
    assert count.counts[2] == 100
    assert_close(count.reverse_kl, math.log(8))


def test_off_mode_noise_counts_nothing():
    ring = ring8()
    samples = torch.zeros(50, 2)  # the centre of the ring: 100 sd from every mode
    count = mixture_modes(samples, ring.modes, ring.sd)
    assert (count.modes, count.hq_fraction) == (0, 0.0)
    assert math.isnan(count.reverse_kl)


def test_noise_is_excluded_from_the_histogram_and_threshold_is_three_sd():
    grid = grid25()
    sd = grid.sd
    on = grid.modes[[0, 0, 7, 7]] + torch.tensor([[2.9 * sd, 0.0], [0.0, -2.9 * sd], [0.0, 0.0], [1.0 * sd, 1.0 * sd]])
    off = grid.modes[[3, 4, 5, 6]] + torch.tensor([[3.1 * sd, 0.0], [0.0, 3.1 * sd], [1.0, 1.0], [0.5, 0.0]])
    count = mixture_modes(torch.cat([on, off]), grid.modes, sd)
    assert count.modes == 2 and count.hq_fraction == 0.5
    assert count.counts[0] == 2 and count.counts[7] == 2
    assert_close(count.reverse_kl, math.log(25 / 2))


def test_true_distribution_covers_all_modes_with_the_chi_square_hq_fraction():
    grid = grid25()
    samples = grid.sample(5000, torch.Generator().manual_seed(1))
    count = mixture_modes(samples, grid.modes, grid.sd, batch_size=999)
    assert count.modes == 25
    # P(|z| < 3) for a 2D standard Gaussian: 1 - exp(-9/2); binomial sd ~0.0015 at n = 5000.
    assert_close(count.hq_fraction, 1 - math.exp(-4.5), rtol=0, atol=0.006)


def correctly_classified_test_digits():
    test = embedded.mnist5k("test")
    _, logits = classify(load_classifier(), test.x)
    ok = logits.argmax(1) == test.y
    return test.x[ok], test.y[ok]


def test_stacked_modes_on_constructed_triples():
    x, y = correctly_classified_test_digits()
    first = {d: x[(y == d).nonzero()[0, 0], 0] for d in range(10)}
    triples = [(1, 2, 3), (1, 2, 3), (9, 0, 0), (4, 4, 4), (0, 0, 7)]
    stacked = torch.stack([torch.stack([first[a], first[b], first[c]]) for a, b, c in triples])
    assert stacked_labels(load_classifier(), stacked).tolist() == [123, 123, 900, 444, 7]
    count = stacked_modes(load_classifier(), stacked)
    assert (count.modes, count.total) == (4, 1000)
    q = torch.tensor([2, 1, 1, 1], dtype=torch.float64) / 5
    assert_close(count.reverse_kl, float((q * torch.log(1000 * q)).sum()))


def test_stacked_mnist5k_dataset_labels_match_its_channels():
    data = embedded.stacked_mnist5k("train")
    assert data.x.shape == (25_600, 3, 28, 28) and data.num_classes == 1000
    assert int(data.y.min()) >= 0 and int(data.y.max()) <= 999
    base = embedded.mnist5k("train")
    flat = base.x.flatten(1)
    for i in range(5):
        digits = []
        for c in range(3):
            match = (flat == data.x[i, c].flatten()).all(1).nonzero()[0, 0]
            digits.append(int(base.y[match]))
        assert int(data.y[i]) == 100 * digits[0] + 10 * digits[1] + digits[2]


def test_stacked_mnist5k_is_built_the_same_way_every_time_and_holds_every_mode():
    a, b = embedded.stacked_mnist5k("test"), embedded.stacked_mnist5k("test")
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert a.x.shape == (26_000, 3, 28, 28)
    for split in ("train", "test"):  # 25,600 / 26,000 uniform triples: every one of the 1,000 modes occurs
        assert torch.bincount(embedded.stacked_mnist5k(split).y, minlength=1000).min() > 0
