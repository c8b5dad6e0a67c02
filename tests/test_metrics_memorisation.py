import torch
from torch.testing import assert_close

from gankit.metrics.memorisation import check_memorisation, nearest_distances


def sets(seed=0, d=50):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(120, d, generator=g), torch.randn(60, d, generator=g), g


def test_nearest_distances_are_exact_for_copies():
    train, heldout, _ = sets()
    dist, index = nearest_distances(train[[5, 17, 5]], train, batch_size=2)
    assert dist.tolist() == [0.0, 0.0, 0.0]
    assert index.tolist() == [5, 17, 5]
    dist, index = nearest_distances(heldout[:4], train)
    brute = torch.cdist(heldout[:4].double(), train.double())
    assert_close(dist.double(), brute.min(1).values, rtol=1e-5, atol=1e-5)
    assert index.tolist() == brute.argmin(1).tolist()


def test_half_copies_half_new_flags_exactly_half():
    train, heldout, _ = sets()
    fake = torch.cat([train[:30], heldout[:30]])
    out = check_memorisation(fake, train, heldout)
    assert out["copy_fraction"] == 0.5
    assert_close(out["threshold"], out["reference_median"] / 3)


def test_noisy_copies_are_flagged_and_fresh_samples_are_not():
    train, heldout, g = sets(1)
    noisy = train[:40] + 0.05 * torch.randn(40, 50, generator=g)
    assert check_memorisation(noisy, train, heldout)["copy_fraction"] == 1.0
    fresh = torch.randn(40, 50, generator=g)
    out = check_memorisation(fresh, train, heldout)
    assert out["copy_fraction"] == 0.0
    assert out["train_nn_median"] > 0 and out["heldout_nn_median"] > 0
