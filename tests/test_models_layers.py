import pytest
import torch
from torch import nn
from torch.testing import assert_close

from gankit import config
from gankit.models import build
from gankit.models.dcgan import DCGANDiscriminator
from gankit.models.layers import MinibatchStd, pack, spectral_normalize
from gankit.models.mlp import MLPDiscriminator


def test_pack_stacks_consecutive_samples_as_channels_or_features():
    x = torch.arange(4 * 2 * 3 * 3, dtype=torch.float32).view(4, 2, 3, 3)
    p = pack(x, 2)
    assert p.shape == (2, 4, 3, 3)
    assert torch.equal(p[1], torch.cat([x[2], x[3]]))
    v = torch.arange(12.0).view(6, 2)
    assert torch.equal(pack(v, 3), torch.tensor([[0.0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]))
    assert pack(v, 1) is v
    with pytest.raises(ValueError, match="packs of 4"):
        pack(v, 4)


def test_minibatch_std_appends_the_mean_group_std_to_every_member():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 3, 2, 2, generator=g, dtype=torch.float64)
    out = MinibatchStd(4)(x)
    assert out.shape == (8, 4, 2, 2) and torch.equal(out[:, :3], x)
    for j in range(2):  # group j holds samples j, j + 2, j + 4, j + 6
        members = x[j::2]
        expected = members.std(dim=0, unbiased=False).mean()
        for i in range(j, 8, 2):
            assert_close(out[i, 3], torch.full((2, 2), expected.item(), dtype=torch.float64), rtol=1e-6, atol=1e-8)
    same = MinibatchStd(4)(torch.ones(4, 5))  # identical samples: std 0 (up to the 1e-8 under the root)
    assert_close(same[:, 5], torch.full((4,), 1e-4))


def test_spectral_norm_makes_each_layer_one_lipschitz():
    torch.manual_seed(0)
    D = spectral_normalize(MLPDiscriminator((2,), hidden=32, depth=2))
    x = torch.randn(64, 2)
    for _ in range(30):  # power iterations run in training-mode forward passes
        D(x)
    D.eval()
    for layer in (m for m in D.modules() if isinstance(m, nn.Linear)):
        assert_close(torch.linalg.matrix_norm(layer.weight, ord=2), torch.tensor(1.0), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("family, shape", [("mlp", (2,)), ("dcgan", (3, 28, 28))])
def test_remedies_change_what_d_sees_and_returns(family, shape):
    over = {"model.family": family, "model.width": 8, "model.depth": 2, "model.pack": 4, "model.mbstd": 2,
            "model.spectral_norm": True, "data.batch_size": 16, "model.clusters": 0}
    cfg = config.resolve("ring8" if family == "mlp" else "mnist5k-dcgan", over).model
    torch.manual_seed(0)
    _, D = build(cfg, shape)
    out = D(torch.randn(16, *shape))
    assert out.shape == (4,)  # one logit per pack
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    assert any(isinstance(m, MinibatchStd) for m in D.modules())
    first = next(m for m in D.modules() if isinstance(m, (nn.Linear, nn.Conv2d)))
    assert (first.in_features if family == "mlp" else first.in_channels) == 4 * (shape[0])
    assert all(nn.utils.parametrize.is_parametrized(m, "weight")
               for m in D.modules() if isinstance(m, (nn.Linear, nn.Conv2d)))


def test_dcgan_discriminator_default_keeps_batchnorm_and_one_logit_per_sample():
    D = DCGANDiscriminator(28, 1, 8)
    assert any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    assert D(torch.randn(5, 1, 28, 28)).shape == (5,)


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_extra_d_layers_add_depth_at_the_last_map_only(spectral_norm):
    torch.manual_seed(0)
    plain = DCGANDiscriminator(28, 3, 8, spectral_norm=spectral_norm)
    deeper = DCGANDiscriminator(28, 3, 8, spectral_norm=spectral_norm, extra=2)
    convs = [m for m in deeper.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == len([m for m in plain.modules() if isinstance(m, nn.Conv2d)]) + 2
    for conv in convs[2:4]:  # after the two halvings (28 -> 14 -> 7), before the final 7x7 convolution
        assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride) == (16, 16, (3, 3), (1, 1))
    x = torch.randn(6, 3, 28, 28)
    assert deeper.net[:-1](x).shape == plain.net[:-1](x).shape == (6, 16, 7, 7)  # the map keeps its size
    assert deeper(x).shape == (6,)
    norms = sum(isinstance(m, nn.BatchNorm2d) for m in deeper.modules())
    assert norms == (0 if spectral_norm else 3)  # one per extra layer, beside the second convolution's
    assert all(nn.utils.parametrize.is_parametrized(c, "weight") == spectral_norm for c in convs)


def test_packed_d_judges_the_joint_of_consecutive_samples():
    torch.manual_seed(0)
    D = MLPDiscriminator((2,), hidden=8, depth=1, pack=2)
    x = torch.randn(4, 2)
    swapped = x[[1, 0, 2, 3]]  # the same packs, members in another order: another input
    assert torch.equal(D(x)[1], D(swapped)[1]) and not torch.equal(D(x)[0], D(swapped)[0])


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("bias", [False, True])
def test_latent_projection_is_the_transposed_convolution_it_replaces(memory_format, bias):
    from gankit.models.layers import LatentProjection

    torch.manual_seed(0)
    fast = LatentProjection(12, 5, 7, 1, 0, bias=bias).to(memory_format=memory_format)
    plain = nn.ConvTranspose2d(12, 5, 7, 1, 0, bias=bias)
    assert fast.state_dict().keys() == plain.state_dict().keys()  # checkpoints load either way
    plain.load_state_dict(fast.state_dict())
    if bias:
        with torch.no_grad():
            fast.bias.normal_()
            plain.bias.copy_(fast.bias)
    z = torch.randn(9, 12, 1, 1, requires_grad=True)
    out, ref = fast(z), plain(z)
    assert out.shape == ref.shape == (9, 5, 7, 7)
    assert_close(out, ref)
    grad = torch.randn_like(ref)
    for a, b in zip(torch.autograd.grad(out, [z, *fast.parameters()], grad),
                    torch.autograd.grad(ref, [z, *plain.parameters()], grad)):
        assert_close(a, b)
    # anything but a 1x1 input is the ordinary transposed convolution
    x = torch.randn(2, 12, 3, 3)
    assert_close(fast(x), plain(x))


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("channels,bias", [(1, False), (3, True)])
def test_thin_transposed_convolution_on_the_native_kernel_is_the_same_layer(memory_format, channels, bias):
    from gankit.models.layers import ThinConvTranspose2d

    torch.manual_seed(0)
    fast = ThinConvTranspose2d(6, channels, 4, 2, 1, bias=bias).to(memory_format=memory_format)
    fast.native = True
    plain = nn.ConvTranspose2d(6, channels, 4, 2, 1, bias=bias)
    assert fast.state_dict().keys() == plain.state_dict().keys()
    plain.load_state_dict(fast.state_dict())
    x = torch.randn(5, 6, 7, 7).to(memory_format=memory_format).requires_grad_()
    out, ref = fast(x), plain(x)
    assert out.shape == ref.shape == (5, channels, 14, 14)
    assert_close(out, ref)
    grad = torch.randn_like(ref)
    for a, b in zip(torch.autograd.grad(out, [x, *fast.parameters()], grad),
                    torch.autograd.grad(ref, [x, *plain.parameters()], grad)):
        assert_close(a, b)
    # the native kernel is really the one running (oneDNN's float sums differ), and only while native is set
    with torch.profiler.profile() as prof:
        fast(x)
    assert any("slow_conv_transpose2d" in e.name for e in prof.events())
    fast.native = False
    with torch.profiler.profile() as prof:
        fast(x)
    assert not any("slow_conv_transpose2d" in e.name for e in prof.events())


def test_the_projection_keeps_d_features_in_their_layout():
    # A channels-last phi's gradient must come back channels-last: a mixed layout made D's
    # leaky_relu backward 10x slower (gankit.models.conditional.project).
    from gankit.models.conditional import project

    torch.manual_seed(0)
    embed = nn.Embedding(4, 3 * 5 * 5)
    y = torch.tensor([0, 3, 1])
    phi_nchw = torch.randn(3, 3, 5, 5, requires_grad=True)
    phi_cl = phi_nchw.detach().contiguous(memory_format=torch.channels_last).requires_grad_()
    logits = torch.zeros(3)
    ref = logits + (embed(y) * phi_nchw.flatten(1)).sum(1)  # the definition, <embed(y), phi>
    out_nchw, out_cl = project(logits, phi_nchw, embed, y), project(logits, phi_cl, embed, y)
    assert_close(out_nchw, ref)
    assert_close(out_cl, ref)
    (g_cl,) = torch.autograd.grad(out_cl.sum(), phi_cl)
    (g_nchw,) = torch.autograd.grad(out_nchw.sum(), phi_nchw)
    assert g_cl.is_contiguous(memory_format=torch.channels_last) and not g_cl.is_contiguous()
    assert_close(g_cl, g_nchw)
    flat = torch.randn(3, 75, requires_grad=True)  # an MLP's features
    assert_close(project(logits, flat, embed, y), logits + (embed(y) * flat).sum(1))
