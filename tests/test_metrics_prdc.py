import torch
from torch.testing import assert_close

from gankit.metrics.precision_recall import prdc


def test_identical_sets_have_precision_recall_and_coverage_one(capsys):
    x = torch.randn(200, 8, generator=torch.Generator().manual_seed(0))
    out = prdc(x, x.clone())
    assert (out["precision"], out["recall"], out["coverage"]) == (1.0, 1.0, 1.0)
    assert capsys.readouterr().out == ""  # prdc's own print is swallowed: the library never prints


def test_far_apart_sets_score_zero():
    g = torch.Generator().manual_seed(1)
    real, fake = torch.randn(100, 4, generator=g), torch.randn(80, 4, generator=g) + 100.0
    assert prdc(real, fake) == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_collapsed_fakes_against_a_brute_force_count():
    g = torch.Generator().manual_seed(2)
    real = torch.randn(300, 2, generator=g, dtype=torch.float64)
    fake = real[:3].repeat(100, 1) + 1e-4 * torch.randn(300, 2, generator=g, dtype=torch.float64)  # 3 points
    out = prdc(real, fake, nearest_k=5)
    # Naeem et al. (2020), eqs. 3-4, counted directly: r_i is real_i's distance to its 5th neighbour.
    radius = torch.cdist(real, real).kthvalue(6, dim=1).values  # the 1st "neighbour" is real_i itself
    inside = torch.cdist(real, fake) < radius[:, None]  # (real, fake): fake_j in real_i's ball
    assert out["precision"] == float(inside.any(0).double().mean()) == 1.0
    assert_close(out["coverage"], float(inside.any(1).double().mean()))
    assert_close(out["density"], float(inside.sum(0).double().mean() / 5))
    assert out["recall"] < out["precision"]  # collapse: fidelity kept, diversity lost
