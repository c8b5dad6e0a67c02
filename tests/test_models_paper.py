"""The 2014 paper's MNIST pair, as its released code (goodfeli/adversarial, mnist.yaml) builds it."""

import math

import pytest
import torch
from torch.testing import assert_close

from gankit import config
from gankit.models import build, sample_noise
from gankit.models.mlp import MaxoutDiscriminator, PaperGenerator


def test_paper_pair_initial_weights_are_uniform_in_the_papers_ranges():
    torch.manual_seed(0)
    G, D = PaperGenerator(), MaxoutDiscriminator()
    for net, irange in ((G, 0.05), (D, 0.005)):
        for name, p in net.named_parameters():
            if name.endswith("bias"):
                assert_close(p, torch.zeros_like(p))
            else:  # U(-r, r): bounded by r, with the uniform's standard deviation r / sqrt(3)
                assert p.abs().max() <= irange
                # the sample std's relative error is sqrt((kurtosis - 1) / 4n) = sqrt(0.8 / 4n): allow 5 of those
                rtol = 5 * math.sqrt(0.8 / (4 * p.numel()))
                assert_close(p.std().item(), irange / math.sqrt(3), rtol=rtol, atol=0)


def test_output_bias_is_the_logit_of_the_pixel_means_so_the_first_samples_are_the_mean_image():
    torch.manual_seed(0)
    x = torch.rand(500, 1, 28, 28) * 2 - 1
    x[:, :, :4] = -1.0  # always-black rows: the mean is clipped to 1e-3 as in pylearn2
    G = PaperGenerator()
    G.init_bias_from_marginals(x)
    p = ((x.flatten(1).mean(0) + 1) / 2).clamp(1e-3, 1 - 1e-3)
    assert_close(G.net[-1].bias, torch.log(p / (1 - p)))
    # With the weights zeroed the generator outputs exactly the (clipped) mean image, mapped to [-1, 1].
    with torch.no_grad():
        for layer in G.net:
            if isinstance(layer, torch.nn.Linear):
                layer.weight.zero_()
    out = G(torch.randn(3, 100))
    assert_close(out, (2 * p - 1).view(1, 1, 28, 28).expand(3, 1, 28, 28))


def test_generator_output_is_the_papers_sigmoid_mapped_to_minus_one_one():
    torch.manual_seed(1)
    G = PaperGenerator()
    z = torch.randn(5, 100)
    logits = G.net(z)
    assert_close(G(z).flatten(1), 2 * torch.sigmoid(logits) - 1)


def test_discriminator_sees_pixels_in_zero_one():
    torch.manual_seed(2)
    D = MaxoutDiscriminator().eval()
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    assert_close(D(x), D.net((x.flatten(1) + 1) / 2).squeeze(1))
    # A black image ([-1] everywhere) reaches the first maxout layer as zeros: its output is the biases.
    black = torch.full((1, 1, 28, 28), -1.0)
    h = D.net[1](D.net[0]((black.flatten(1) + 1) / 2))
    assert_close(h, D.net[1].linear.bias.view(240, 5).amax(1).unsqueeze(0))


def test_dropout_keeps_inputs_with_p_08_and_hidden_units_with_p_05():
    D = MaxoutDiscriminator()
    assert [m.p for m in D.net if isinstance(m, torch.nn.Dropout)] == [0.2, 0.5, 0.5]


def test_uniform_noise_has_unit_variance_and_bounded_support():
    G, _ = build(config.resolve("mnist-mlp").model, (1, 28, 28))
    assert G.noise == "uniform"
    z = sample_noise(G, 20000, torch.Generator().manual_seed(0))
    assert z.shape == (20000, 100)
    assert z.abs().max() <= math.sqrt(3)
    assert_close(z.var().item(), 1.0, rtol=0.02, atol=0)
    assert_close(z.mean().item(), 0.0, rtol=0, atol=0.01)


def test_gaussian_is_the_default_noise():
    G, _ = build(config.resolve("mnist5k-dcgan").model, (1, 28, 28))
    z = sample_noise(G, 5, torch.Generator().manual_seed(0))
    assert_close(z, torch.randn(5, G.z_dim, generator=torch.Generator().manual_seed(0)))


def test_bad_noise_name_is_one_line():
    from gankit import GankitError

    with pytest.raises(GankitError, match=r"^model.noise: must be gaussian or uniform, got 'cauchy'$"):
        config.resolve("mnist-mlp", {"model.noise": "cauchy"})


def test_training_prior_draws_the_same_uniform_noise_as_sampling():
    """The trainer's Prior (device- and rank-aware) and sample_noise give the same z for one seed."""
    from gankit.data import Prior

    G, _ = build(config.resolve("mnist-mlp").model, (1, 28, 28))
    assert_close(Prior(5).uniform(7, G.z_dim), sample_noise(G, 7, torch.Generator().manual_seed(5)), rtol=0, atol=0)


def test_maxout_discriminator_takes_the_remedies_of_the_other_families():
    from gankit.models.layers import MinibatchStd, pack

    torch.manual_seed(3)
    x = torch.rand(8, 1, 28, 28) * 2 - 1
    packed = MaxoutDiscriminator(pack=2).eval()
    assert packed.net[1].linear.in_features == 2 * 784
    assert_close(packed(x), packed.net(pack((x.flatten(1) + 1) / 2, 2)).squeeze(1))
    assert packed(x).shape == (4,)
    with_std = MaxoutDiscriminator(mbstd=4)
    assert isinstance(with_std.net[-2], MinibatchStd) and with_std.net[-1].in_features == 241
    G, D = build(config.resolve("mnist-mlp", {"model.pack": 2, "model.spectral_norm": True}).model, (1, 28, 28))
    assert D.pack == 2 and hasattr(D.net[1].linear, "parametrizations")


def test_g_batchnorm_normalizes_each_hidden_layer_over_the_minibatch_before_its_relu():
    torch.manual_seed(4)
    G = PaperGenerator(batchnorm=True).train()
    layers = list(G.net)
    norms = [m for m in layers if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(norms) == 2 and all(isinstance(layers[layers.index(n) + 1], torch.nn.ReLU) for n in norms)
    seen = []
    hooks = [n.register_forward_hook(lambda mod, inp, out: seen.append(out)) for n in norms]
    G(torch.randn(256, 100))
    for h in hooks:
        h.remove()
    for out in seen:  # per unit, over the 256 samples: mean 0, variance 1 (BatchNorm's initial affine is 1, 0)
        assert_close(out.mean(0), torch.zeros(1200), rtol=0, atol=1e-5)
        assert_close(out.var(0, unbiased=False), torch.ones(1200), rtol=0, atol=1e-3)
    # the output layer is still the paper's: sigmoid logits with the marginal bias, weights in +-0.05
    assert G.net[-1].weight.abs().max() <= 0.05


def test_the_faithful_generator_barely_depends_on_z_at_the_start_and_batchnorm_fixes_that():
    """Why the faithful net collapses on mnist5k (docs/paper.md): with weights in +-0.05 the
    logits of different z differ by ~0.1, so D's gradient is nearly the same for every sample."""
    z = torch.rand(512, 100, generator=torch.Generator().manual_seed(0)) * 2 * math.sqrt(3) - math.sqrt(3)
    spread = {}
    for batchnorm in (False, True):
        torch.manual_seed(0)
        G = PaperGenerator(batchnorm=batchnorm).train()
        spread[batchnorm] = G.net(z).std(0).mean().item()
    assert 0.03 < spread[False] < 0.3
    assert spread[True] > 4 * spread[False]  # 0.59 against 0.10 here


def test_g_batchnorm_needs_the_paper_generator():
    from gankit import GankitError

    assert config.resolve("mnist-mlp").model.g_batchnorm
    with pytest.raises(GankitError, match=r"^model.g_batchnorm: needs model.family paper-mlp .*got dcgan$"):
        config.resolve("mnist5k-dcgan", {"model.g_batchnorm": True})
