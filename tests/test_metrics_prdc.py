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


def test_collapsed_fakes_keep_precision_but_lose_recall_and_coverage():
    g = torch.Generator().manual_seed(2)
    real = torch.randn(300, 2, generator=g)
    fake = real[:3].repeat(100, 1) + 1e-4 * torch.randn(300, 2, generator=g)  # 3 points, 100 times each
    out = prdc(real, fake)
    assert out["precision"] == 1.0
    assert_close(out["coverage"], 3 / 300, rtol=0, atol=3 / 300)  # only balls around the 3 points (and close neighbours)
    assert out["recall"] < 0.2
