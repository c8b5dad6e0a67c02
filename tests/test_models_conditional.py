"""Conditional players: cGAN (one-hot into G, projection D) and ACGAN (D with 1 + C logits)."""

import pytest
import torch
from torch.testing import assert_close

from gankit import GankitError, config
from gankit.models import build
from gankit.runs import generate

C = 3


def tiny_cfg(conditional, family="dcgan"):
    over = {"model.width": 4, "model.depth": 1, "model.z_dim": 5, "model.family": family,
            "model.conditional": conditional}
    return config.resolve("digits-acgan", over)


@pytest.mark.parametrize("family", ["mlp", "dcgan"])
def test_cgan_generator_and_discriminator_depend_on_the_label(family):
    torch.manual_seed(0)
    G, D = build(tiny_cfg("cgan", family).model, (1, 8, 8), num_classes=C)
    G.eval()
    D.eval()
    z = torch.randn(4, G.z_dim).repeat(2, 1)
    y = torch.tensor([0, 1, 2, 0, 0, 2, 1, 1])
    with torch.no_grad():
        x = G(z, y)
        assert_close(G(z, y), x)  # deterministic in eval mode
        x_other = G(z, (y + 1) % C)
        logits = D(x, y)
        logits_other = D(x, (y + 1) % C)
    assert x.shape == (8, 1, 8, 8)
    # Rows i and i + 4 share z; rows 0 and 4 also share the label, the other pairs do not.
    assert_close(x[0], x[4])
    for i in (1, 2, 3):
        assert (x[i] - x[i + 4]).abs().max() > 1e-3
    assert (x - x_other).flatten(1).abs().amax(1).min() > 1e-3
    assert logits.shape == (8,) and (logits - logits_other).abs().min() > 0


@pytest.mark.parametrize("family", ["mlp", "dcgan"])
def test_acgan_discriminator_returns_one_plus_c_logits(family):
    torch.manual_seed(0)
    G, D = build(tiny_cfg("acgan", family).model, (1, 8, 8), num_classes=C)
    out = D(G(torch.randn(5, G.z_dim), torch.tensor([0, 1, 2, 0, 1])))
    assert out.shape == (5, 1 + C)


def test_a_conditional_generator_needs_labels_in_range():
    torch.manual_seed(0)
    G, _ = build(tiny_cfg("cgan").model, (1, 8, 8), num_classes=C)
    with pytest.raises(GankitError, match="conditional"):
        generate(G, 4)
    with pytest.raises(GankitError, match=r"0\.\.2"):
        generate(G, 2, labels=torch.tensor([0, 3]))
    x = generate(G, 5, labels=torch.tensor([0, 1, 2, 0, 1]), batch_size=2)
    assert x.shape == (5, 1, 8, 8)
