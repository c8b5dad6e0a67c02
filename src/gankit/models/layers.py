"""Layers the discriminators of every family share: PacGAN packing, minibatch standard
deviation and spectral normalization. Each attacks mode collapse or instability by
changing what D can see or how fast it can change, not the loss. And two of DCGAN G's
layers, computed another way than PyTorch's default on the CPU (``LatentProjection``,
``ThinConvTranspose2d``): the same modules and maths, a faster kernel.
"""

from __future__ import annotations

import torch
from torch import nn


def pack(x: torch.Tensor, n: int) -> torch.Tensor:
    """PacGAN's packing (Lin et al. 2018, section 3): n consecutive samples become one input.

    Images (N, C, H, W) -> (N / n, n C, H, W), the samples stacked as channels; anything
    else (N, ...) -> (N / n, n prod(...)), concatenated. D then judges a pack with one
    logit, so a generator that puts its samples on few modes is caught by their
    *joint* distribution: two samples from one mode are likelier in a fake pack than in a
    real one. n = 1 returns x unchanged.
    """
    if n == 1:
        return x
    if len(x) % n:
        raise ValueError(f"pack: {len(x)} samples do not split into packs of {n}")
    if x.dim() == 4:
        return x.reshape(len(x) // n, n * x.shape[1], *x.shape[2:])
    return x.reshape(len(x) // n, -1)


class MinibatchStd(nn.Module):
    """Minibatch standard deviation (Karras et al. 2018, "Progressive Growing of GANs", section 3).

    The inputs (N, F, ...) are split into groups of ``group`` samples (sample i joins group
    i mod N/group, as in StyleGAN's code); the standard deviation of every feature over its
    group, averaged over features (and positions), is appended as one more feature (channel)
    to each sample of the group. D thus sees how varied a minibatch is, and a generator
    whose samples are all alike is easy to reject.

    Output: (N, F + 1, ...).
    """

    def __init__(self, group: int):
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, g = len(x), min(self.group, len(x))
        if n % g:
            raise ValueError(f"minibatch stddev: {n} inputs do not split into groups of {g}")
        y = x.reshape(g, n // g, *x.shape[1:]).float()
        std = (y.var(dim=0, unbiased=False) + 1e-8).sqrt()  # (N/g, F, ...)
        std = std.flatten(1).mean(dim=1)  # (N/g,)
        feature = std.repeat(g).to(x.dtype).view(n, 1, *([1] * (x.dim() - 2)))
        return torch.cat([x, feature.expand(n, 1, *x.shape[2:])], dim=1)


def spectral_normalize(D: nn.Module) -> nn.Module:
    """Spectral normalization of every linear and convolution layer of D (Miyato et al. 2018).

    Each weight W is used as W / sigma(W), sigma estimated by one power iteration per
    training forward pass (torch's ``parametrizations.spectral_norm``), so each layer is
    1-Lipschitz and D cannot sharpen faster than the generator can follow. Returns D.
    """
    for module in list(D.modules()):
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.utils.parametrizations.spectral_norm(module)
    return D


class LatentProjection(nn.ConvTranspose2d):
    """DCGAN's first layer, a ConvTranspose2d(C_in, C_out, k, stride 1, padding 0) from a 1x1 input, computed as
    the matrix product it is: (N, C_in) @ (C_in, C_out*k*k), reshaped to (N, C_out, k, k).

    The same module (weights of shape (C_in, C_out, k, k), the same state-dict keys) and the same maths up to
    the order of the float sums; only how it runs differs. oneDNN treats a 1x1 input as a general transposed
    convolution and spends 6.8 ms on its forward and backward at batch 64 for mnist5k-dcgan's 200 -> 64 x 7 x 7
    layer on one thread of an AMD EPYC; the product takes 2.8 ms (docs/BENCHMARKS.md). Any other input goes to
    the ordinary ConvTranspose2d.
    """

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if x.dim() != 4 or x.shape[-2:] != (1, 1) or output_size is not None or self.groups != 1 \
                or self.stride != (1, 1) or self.padding != (0, 0) or self.output_padding != (0, 0) \
                or self.dilation != (1, 1):
            return super().forward(x, output_size)
        n, (c_in, c_out, kh, kw) = len(x), self.weight.shape
        if self.weight.is_contiguous():
            out = (x.reshape(n, c_in) @ self.weight.reshape(c_in, -1)).view(n, c_out, kh, kw)
        else:  # channels-last weights: the (k, k, C_out) order is the contiguous one, and so is the output's
            w = self.weight.permute(0, 2, 3, 1).reshape(c_in, -1)
            out = (x.reshape(n, c_in) @ w).view(n, kh, kw, c_out).permute(0, 3, 1, 2)
        return out if self.bias is None else out + self.bias.view(1, -1, 1, 1)


THIN_CHANNELS = 3  # ThinConvTranspose2d's native kernel applies up to this many output channels (an image's)


class ThinConvTranspose2d(nn.ConvTranspose2d):
    """A ConvTranspose2d that can run on PyTorch's native CPU kernel instead of oneDNN's when it has at most
    ``THIN_CHANNELS`` output channels: DCGAN G's last layer, which maps C feature maps to 1 or 3 image channels.

    oneDNN computes in blocks of 8 or 16 channels and pads a 1- or 3-channel output to a whole block, so this
    layer's forward did 5-16x its useful work: 1.5-1.8 ms against 0.5 ms for the native kernel (im2col and one
    matrix product) at mnist5k-dcgan's 32 -> 1 channels, 14 -> 28 px, batch 64, two threads of an AMD EPYC
    (docs/BENCHMARKS.md). ``native`` is set by ``gankit.models.with_kernels`` from ``model.thin_deconv``,
    which ``auto`` chooses by timing both on the machine (gankit.tuning). The same module, weights and
    state-dict keys either way, and the same maths up to the order of float sums; the backward pass goes
    through PyTorch's convolution_backward, which picks its kernel itself, in both cases.
    """

    native = False

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if not self.native or x.device.type != "cpu" or x.dim() != 4 or output_size is not None \
                or self.groups != 1 or self.out_channels > THIN_CHANNELS or self.padding_mode != "zeros":
            return super().forward(x, output_size)
        return torch.ops.aten.slow_conv_transpose2d(x, self.weight, self.kernel_size, self.bias, self.stride,
                                                    self.padding, self.output_padding, self.dilation)
