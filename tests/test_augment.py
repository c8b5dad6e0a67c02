import pytest
import torch
from torch.testing import assert_close

from gankit import GankitError
from gankit.augment import color, cutout, diff_augment, parse_policy, translation


def images(n=6, c=2, h=8, w=8, seed=0):
    return torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(seed))


def shifted(x, dy, dx):
    """x shifted by (dy, dx) with zeros coming in, by plain slicing: out[i, j] = x[i + dy, j + dx]."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    rows_out = slice(max(0, -dy), min(h, h - dy))
    cols_out = slice(max(0, -dx), min(w, w - dx))
    rows_in = slice(max(0, dy), min(h, h + dy))
    cols_in = slice(max(0, dx), min(w, w + dx))
    out[..., rows_out, cols_out] = x[..., rows_in, cols_in]
    return out


def test_translation_shifts_each_image_by_its_drawn_offset_with_zeros_coming_in():
    x = images()
    out = translation(x, torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)  # replay the draws: dy then dx, in [-1, 1] for side 8
    dy = torch.randint(-1, 2, (6,), generator=g)
    dx = torch.randint(-1, 2, (6,), generator=g)
    for i in range(6):
        assert torch.equal(out[i], shifted(x[i], int(dy[i]), int(dx[i])))
    assert (dy != 0).any() and (dx != 0).any()


def test_cutout_zeroes_one_square_of_half_the_side_and_keeps_the_rest():
    x = images(n=50, h=8, w=8).abs() + 1  # no zeros of its own
    out = cutout(x, torch.Generator().manual_seed(1))
    zeros = (out == 0)
    assert torch.equal(zeros[:, 0], zeros[:, 1])  # the same square in every channel
    kept = ~zeros
    assert torch.equal(out[kept], x[kept])
    per_image = zeros[:, 0].flatten(1).sum(1)
    assert per_image.max() == 16 and per_image.min() >= 4  # 4x4, clipped at the border
    for m in zeros[:, 0]:  # a rectangle: its rows and columns span it
        rows, cols = m.any(1).nonzero().flatten(), m.any(0).nonzero().flatten()
        assert m.sum() == len(rows) * len(cols)
        assert rows.max() - rows.min() + 1 == len(rows) and cols.max() - cols.min() + 1 == len(cols)


def test_color_is_brightness_saturation_contrast_with_the_drawn_factors():
    x = images(c=3)
    out = color(x, torch.Generator().manual_seed(2))
    g = torch.Generator().manual_seed(2)
    b, s, c = (torch.rand(6, 1, 1, 1, generator=g) for _ in range(3))
    y = x + (b - 0.5)
    y = (y - y.mean(1, keepdim=True)) * (2 * s) + y.mean(1, keepdim=True)
    y = (y - y.mean((1, 2, 3), keepdim=True)) * (c + 0.5) + y.mean((1, 2, 3), keepdim=True)
    assert_close(out, y)


def test_diff_augment_is_differentiable_and_reproducible_from_its_generator():
    x = images().requires_grad_(True)
    policy = parse_policy("translation,cutout,color")
    a = diff_augment(x, policy, torch.Generator().manual_seed(9))
    b = diff_augment(x, policy, torch.Generator().manual_seed(9))
    c = diff_augment(x, policy, torch.Generator().manual_seed(10))
    assert torch.equal(a, b) and not torch.equal(a, c)
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert diff_augment(x, (), torch.Generator()) is x


def test_unknown_policy_names_the_valid_ones():
    with pytest.raises(GankitError, match=r"train.augment: unknown policy 'flip'; valid: color, translation, cutout"):
        parse_policy("translation,flip")
    assert parse_policy("") == () and parse_policy(" color , cutout") == ("color", "cutout")
