import math

import numpy as np
import pytest
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.invert import check_inputs, class_means, invert, latent_walk, read_images, save_npz, slerp
from gankit.models.mlp import MLPGenerator


class LinearG(nn.Module):
    """x = A z + b: a generator whose inversion has a known answer."""

    def __init__(self, z_dim: int = 4, out: int = 12, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.z_dim = z_dim
        self.net = nn.Linear(z_dim, out)

    def forward(self, z):
        return self.net(z)


def on_sphere(n: int, d: int, seed: int) -> torch.Tensor:
    z = torch.randn(n, d, generator=torch.Generator().manual_seed(seed))
    return z * (math.sqrt(d) / z.norm(dim=1, keepdim=True))


def test_slerp_endpoints_radius_and_midpoint():
    z0, z1 = on_sphere(5, 8, 0), on_sphere(5, 8, 1)
    t = torch.linspace(0, 1, 7)
    path = slerp(z0, z1, t)
    assert path.shape == (5, 7, 8)
    torch.testing.assert_close(path[:, 0], z0)
    torch.testing.assert_close(path[:, -1], z1)
    # Equal-norm endpoints: the whole path stays on their sphere.
    torch.testing.assert_close(path.norm(dim=2), torch.full((5, 7), math.sqrt(8.0)))
    # The midpoint lies along z0 + z1 (the bisector of the arc).
    mid = slerp(z0, z1, torch.tensor([0.5]))[:, 0]
    bisector = (z0 + z1) * (math.sqrt(8.0) / (z0 + z1).norm(dim=1, keepdim=True))
    torch.testing.assert_close(mid, bisector)


def test_slerp_of_parallel_endpoints_is_the_straight_line():
    z0 = on_sphere(2, 3, 0)
    t = torch.tensor([0.0, 0.25, 1.0])
    torch.testing.assert_close(slerp(z0, 2 * z0, t), z0[:, None] * (1 + t)[None, :, None])


def test_invert_recovers_the_images_of_a_linear_generator():
    G = LinearG()
    z_true = on_sphere(20, 4, 3)
    with torch.no_grad():
        x = G(z_true)
    inv = invert(G, x, steps=400, restarts=2, lr=0.05, seed=0)
    assert inv.z.shape == (20, 4) and inv.reconstructions.shape == (20, 12) and inv.error.shape == (20,)
    torch.testing.assert_close(inv.reconstructions, x, atol=2e-3, rtol=0)
    torch.testing.assert_close(inv.error, (inv.reconstructions - x).pow(2).mean(1))
    # On the sphere and with A of full column rank the answer is z_true itself.
    torch.testing.assert_close(inv.z, z_true, atol=2e-2, rtol=0)


def test_invert_is_seeded_and_leaves_G_untouched():
    G = MLPGenerator(3, (1, 4, 4), hidden=16, depth=2, tanh=True)
    G.train()
    before = {k: v.clone() for k, v in G.state_dict().items()}
    x = torch.rand(9, 1, 4, 4) * 2 - 1
    a = invert(G, x, steps=30, restarts=2, seed=5, batch_size=4)
    b = invert(G, x, steps=30, restarts=2, seed=5, batch_size=4)
    c = invert(G, x, steps=30, restarts=2, seed=6, batch_size=4)
    assert torch.equal(a.z, b.z) and torch.equal(a.error, b.error)
    assert not torch.equal(a.z, c.z)
    # The starting points do not depend on the batching.
    d = invert(G, x, steps=30, restarts=2, seed=5, batch_size=9)
    torch.testing.assert_close(d.z, a.z)
    for k, v in G.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(p.grad is None for p in G.parameters())
    assert G.training  # the mode is restored


def test_more_restarts_find_better_minima():
    # Restart 0 starts at the same z whatever the number of restarts and the best one is kept;
    # per image the paths differ by float rounding (other batch shapes), so compare in aggregate.
    G = MLPGenerator(2, (6,), hidden=16, depth=2)
    x = torch.randn(10, 6)
    one = invert(G, x, steps=40, restarts=1, seed=1)
    four = invert(G, x, steps=40, restarts=4, seed=1)
    assert float(four.error.sum()) < float(one.error.sum())
    with torch.no_grad():
        torch.testing.assert_close(four.reconstructions, G(four.z))
        torch.testing.assert_close(four.error, (G(four.z) - x).pow(2).mean(1))


def test_z_stays_on_the_sphere_unless_told_otherwise():
    G = MLPGenerator(5, (6,), hidden=16, depth=2)
    x = torch.randn(4, 6) * 3
    inv = invert(G, x, steps=20, seed=0)
    torch.testing.assert_close(inv.z.norm(dim=1), torch.full((4,), math.sqrt(5.0)))
    free = invert(G, x, steps=20, seed=0, sphere=False)
    assert not torch.allclose(free.z.norm(dim=1), torch.full((4,), math.sqrt(5.0)))


def test_conditional_generator_is_inverted_with_the_labels():
    G = MLPGenerator(3, (5,), hidden=16, depth=2, num_classes=4)
    x, y = torch.randn(6, 5), torch.tensor([0, 1, 2, 3, 0, 1])
    inv = invert(G, x, y, steps=15, seed=0)
    with torch.no_grad():
        torch.testing.assert_close(inv.reconstructions, G(inv.z, y))
    assert torch.equal(inv.labels, y)
    with pytest.raises(GankitError, match="conditional"):
        invert(G, x, steps=2)


def test_feature_distance_needs_digit_images():
    G = MLPGenerator(3, (1, 8, 8), hidden=8, depth=1, tanh=True)
    with pytest.raises(GankitError, match="28, 28"):
        invert(G, torch.zeros(2, 1, 8, 8), steps=2, feature_weight=1.0)


def test_feature_distance_changes_the_objective_on_digits():
    G = MLPGenerator(4, (1, 28, 28), hidden=16, depth=1, tanh=True)
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    plain = invert(G, x, steps=10, seed=0)
    feat = invert(G, x, steps=10, seed=0, feature_weight=1.0)
    assert plain.z.shape == feat.z.shape == (3, 4)
    assert not torch.equal(plain.z, feat.z)


def test_class_means():
    error, labels = torch.tensor([1.0, 3.0, 5.0, 7.0]), torch.tensor([2, 2, 0, 2])
    assert class_means(error, labels) == {0: 5.0, 2: pytest.approx(11 / 3)}


def test_check_inputs_names_each_problem():
    shape = (1, 4, 4)
    check_inputs(torch.zeros(3, 1, 4, 4), shape, torch.tensor([0, 1, 9]), 10, False)
    with pytest.raises(GankitError, match=r"f\.npz: x has shape \(3, 1, 5, 5\).*\(1, 4, 4\)"):
        check_inputs(torch.zeros(3, 1, 5, 5), shape, None, 0, False, "f.npz")
    with pytest.raises(GankitError, match="label 10 is outside the classes 0..9"):
        check_inputs(torch.zeros(3, 1, 4, 4), shape, torch.tensor([0, 10, 1]), 10, False)
    with pytest.raises(GankitError, match="label -1"):
        check_inputs(torch.zeros(2, 1, 4, 4), shape, torch.tensor([0, -1]), 10, True)
    with pytest.raises(GankitError, match="give the labels"):
        check_inputs(torch.zeros(2, 1, 4, 4), shape, None, 10, True)
    with pytest.raises(GankitError, match="no classes"):
        check_inputs(torch.zeros(2, 1, 4, 4), shape, torch.tensor([0, 1]), 0, False)
    with pytest.raises(GankitError, match="NaN"):
        check_inputs(torch.full((2, 1, 4, 4), math.nan), shape, None, 0, False)
    with pytest.raises(GankitError, match="one label per image"):
        check_inputs(torch.zeros(2, 1, 4, 4), shape, torch.tensor([0, 1, 2]), 10, False)


def test_read_images_and_save_npz(tmp_path):
    np.savez(tmp_path / "ok.npz", x=np.zeros((2, 1, 4, 4), np.uint8), y=np.array([1, 2], np.int32))
    x, y = read_images(tmp_path / "ok.npz")
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and y.tolist() == [1, 2]
    np.savez(tmp_path / "nox.npz", images=np.zeros((2, 3)))
    with pytest.raises(GankitError, match=r"no array 'x' \(found: images\)"):
        read_images(tmp_path / "nox.npz")
    with pytest.raises(GankitError, match="no such file"):
        read_images(tmp_path / "missing.npz")
    np.savez(tmp_path / "float_y.npz", x=np.zeros((2, 3)), y=np.array([0.5, 1.0]))
    with pytest.raises(GankitError, match="integer class labels"):
        read_images(tmp_path / "float_y.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(GankitError, match="junk.npz"):
        read_images(tmp_path / "junk.npz")
    G = LinearG(2, 3)
    inv = invert(G, torch.zeros(2, 3), torch.tensor([4, 5]), steps=3)
    save_npz(inv, tmp_path / "out" / "inv.npz")
    with np.load(tmp_path / "out" / "inv.npz") as f:
        assert sorted(f.files) == ["error", "labels", "reconstructions", "z"]
        np.testing.assert_array_equal(f["z"], inv.z.numpy())
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_latent_walk_starts_and_ends_at_seeded_z():
    G = MLPGenerator(3, (2,), hidden=8, depth=1)
    walk = latent_walk(G, rows=2, steps=5, seed=7)
    assert walk.shape == (10, 2)
    gen = torch.Generator().manual_seed(7)
    z0, z1 = torch.randn(2, 3, generator=gen), torch.randn(2, 3, generator=gen)
    with torch.no_grad():
        torch.testing.assert_close(walk[[0, 5]], G(z0))
        torch.testing.assert_close(walk[[4, 9]], G(z1))
    with pytest.raises(GankitError, match="at least 2 steps"):
        latent_walk(G, 2, 1)
