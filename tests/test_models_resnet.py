import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from gankit import GankitError, config
from gankit.models import build
from gankit.models.resnet import ARCHITECTURES, ResNetDiscriminator, ResNetGenerator


@pytest.mark.parametrize("size", sorted(ARCHITECTURES))
def test_generator_and_discriminator_shapes_at_every_side(size):
    torch.manual_seed(0)
    G, D = ResNetGenerator(8, size, 3, width=2), ResNetDiscriminator(size, 3, width=2)
    x = G(torch.randn(4, 8))
    assert x.shape == (4, 3, size, size)
    assert x.min() >= -1 and x.max() <= 1  # tanh
    assert D(x).shape == (4,)


def test_grayscale_images_in_and_out():
    G, D = ResNetGenerator(8, 32, 1, width=2), ResNetDiscriminator(32, 1, width=2)
    assert D(G(torch.randn(2, 8))).shape == (2,)


def test_widths_are_mimicrys_sngan64_at_width_64():
    # SNGANGenerator64: linear to 4x4x1024, up-blocks 1024->512->256->128->64; SNGANDiscriminator64:
    # 3->64->128->256->512->1024, then a 1024 -> 1 linear layer.
    G, D = ResNetGenerator(128, 64, 3, 64), ResNetDiscriminator(64, 3, 64)
    assert G.l1.out_features == 4 * 4 * 1024
    assert [b.c2.out_channels for b in G.blocks] == [512, 256, 128, 64]
    assert [b.c2.out_channels for b in D.blocks] == [64, 128, 256, 512, 1024]
    assert D.linear.in_features == 1024


def test_d_returns_the_linear_layer_of_summed_relu_features_no_sigmoid():
    torch.manual_seed(0)
    D = ResNetDiscriminator(32, 3, width=2).eval()
    x = torch.randn(5, 3, 32, 32) * 3
    out = D(x)
    assert_close(out, D.linear(F.relu(D.blocks(x)).sum(dim=(2, 3))).view(5))
    assert not any(isinstance(m, nn.Sigmoid) for m in D.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in ResNetGenerator(8, 32, 3, 2).modules())


def test_every_layer_of_d_is_spectrally_normalized_to_sigma_one():
    torch.manual_seed(0)
    D = ResNetDiscriminator(32, 3, width=2, spectral_norm=True)
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(nn.utils.parametrize.is_parametrized(m, "weight") for m in layers)
    for _ in range(50):  # power iterations, one per training forward pass
        D(torch.randn(2, 3, 32, 32))
    D.eval()
    sigmas = torch.stack([torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2) for m in layers])
    assert_close(sigmas, torch.ones_like(sigmas), rtol=0, atol=0.02)
    plain = ResNetDiscriminator(32, 3, width=2, spectral_norm=False)
    assert not any(nn.utils.parametrize.is_parametrized(m) for m in plain.modules())


def test_conditional_pairs_through_build():
    torch.manual_seed(0)
    cfg = config.ModelConfig(family="resnet", width=2, z_dim=8, conditional="cgan", spectral_norm=True)
    G, D = build(cfg, (3, 32, 32), num_classes=3)
    z, y = torch.randn(4, 8), torch.tensor([0, 1, 2, 0])
    x = G(z, y)
    assert x.shape == (4, 3, 32, 32)
    assert not torch.equal(G.eval()(z, y), G(z, (y + 1) % 3))  # the class changes the image
    logits = D(x, y)
    assert logits.shape == (4,)
    assert not torch.equal(logits, D(x, (y + 1) % 3))  # and D's verdict
    G, D = build(config.ModelConfig(family="resnet", width=2, z_dim=8, conditional="acgan"), (3, 32, 32), 3)
    assert D(G(z, y)).shape == (4, 4)


def test_unsupported_sides_and_remedies_fail_in_one_line():
    with pytest.raises(GankitError, match=r"^model.family=resnet: image side 28 is not one of 32, 48, 64, 128"):
        build(config.ModelConfig(family="resnet"), (1, 28, 28))
    with pytest.raises(GankitError, match=r"^model.pack and model.mbstd need"):
        build(config.ModelConfig(family="resnet", pack=2), (3, 32, 32))
    with pytest.raises(GankitError, match=r"^model.family=resnet needs square images"):
        build(config.ModelConfig(family="resnet"), (4,))
