"""Self-conditioning (model.clusters): the cluster code read off z, the data's clusters, the wiring into Algorithm 1."""

import math

import pytest
import torch
from torch.testing import assert_close

from gankit import GankitError, config
from gankit.data import TensorData
from gankit.loop import fit
from gankit.models import build
from gankit.models.clusters import fit_clusters, nearest
from gankit.invert import invert
from gankit.runs import generate, load_discriminator, load_run
from gankit.train import Trainer


def ring8(**over):
    base = {"model.clusters": 3, "model.width": 16, "model.depth": 2, "data.batch_size": 32, "train.steps": 4,
            "log.every": 1, "log.sample_every": 2, "log.checkpoint_every": 2, "log.grid": 16}
    return config.resolve("ring8", {**base, **over})


def self_conditioned(frequencies, noise="gaussian"):
    G, _ = build(config.apply(ring8(), {"model.clusters": len(frequencies), "model.noise": noise}).model, (2,))
    G.set_clusters(torch.zeros(len(frequencies), 2), torch.tensor(frequencies))
    return G


@pytest.mark.parametrize("noise", ["gaussian", "uniform"])
def test_the_code_read_off_z_has_the_clusters_frequencies(noise):
    frequencies = [0.5, 0.3, 0.15, 0.05]
    G = self_conditioned(frequencies, noise)
    z = torch.randn(200_000, G.z_dim) if noise == "gaussian" else (torch.rand(200_000, G.z_dim) * 2 - 1) * math.sqrt(3)
    counts = torch.bincount(G.code(z), minlength=4).double() / len(z)
    assert_close(counts, torch.tensor(frequencies, dtype=torch.float64), atol=4e-3, rtol=0)


def test_the_code_depends_on_z0_alone_and_rises_with_it():
    G = self_conditioned([0.25, 0.25, 0.5])
    z = torch.randn(1000, G.z_dim)
    z[:, 0] = torch.linspace(-4, 4, 1000)
    codes = G.code(z)
    assert codes[0] == 0 and codes[-1] == 2
    assert (codes.diff() >= 0).all()
    # Quartiles of N(0, 1): z0 < -0.674 -> 0, < 0 -> 1, else 2.
    assert_close(G.code(torch.tensor([[-0.7, 5.0], [-0.6, -5.0], [0.01, 0.0]])), torch.tensor([0, 1, 2]))


@pytest.mark.parametrize("noise", ["gaussian", "uniform"])
def test_code_z0_selects_each_code(noise):
    G = self_conditioned([0.5, 0.3, 0.15, 0.04, 0.01], noise)
    codes = torch.arange(5)
    z = torch.randn(5, G.z_dim)
    z[:, 0] = G.code_z0(codes)
    assert torch.equal(G.code(z), codes)


def test_inverting_holds_z0_at_each_images_nearest_cluster():
    trainer = Trainer(ring8())
    for _ in range(4):
        trainer.train_step()
    G = trainer.sampler
    x = torch.randn(40, 2)
    inv = invert(G, x, steps=30, restarts=2)
    assert torch.equal(G.code(inv.z), nearest(x, G.centroids))
    assert_close(inv.reconstructions, G.eval()(inv.z))


def test_g_is_unconditional_outside_and_conditional_inside():
    G = self_conditioned([0.5, 0.5])
    assert G.num_classes == 0 and G.inner.num_classes == 2
    z = torch.randn(64, G.z_dim)
    G.eval()
    assert_close(G(z), G.inner(z, G.code(z)))
    assert_close(generate(G, 10, seed=3), generate(G, 10, seed=3))  # runs.generate takes it as any G(z)


def test_assign_is_the_nearest_centroid():
    centroids = torch.randn(7, 5)
    x = torch.randn(300, 5)
    brute = ((x[:, None, :] - centroids[None]) ** 2).sum(-1).argmin(1)
    assert torch.equal(nearest(x, centroids, chunk=64), brute)


def test_fit_clusters_finds_separated_blobs_and_their_shares():
    g = torch.Generator().manual_seed(0)
    means = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    sizes = [100, 200, 300]
    x = torch.cat([m + 0.1 * torch.randn(n, 2, generator=g) for m, n in zip(means, sizes)])
    centroids, frequencies = fit_clusters(x, 3, seed=0)
    order = nearest(means, centroids)  # the centroid of each blob
    assert sorted(order.tolist()) == [0, 1, 2]
    assert_close(centroids[order], means, atol=0.05, rtol=0)
    assert_close(frequencies[order], torch.tensor(sizes) / 600.0)


def test_d_judges_data_with_their_clusters_and_samples_with_their_codes():
    trainer = Trainer(ring8())
    G, D = trainer.G, trainer.D
    seen, codes = [], []
    forward, code = D.forward, G.code
    D.forward = lambda x, y=None: seen.append((x.detach(), y)) or forward(x, y)
    G.code = lambda z: codes.append(code(z)) or codes[-1]
    trainer.train_step()
    (real, real_y), (_, fake_y), (_, fake_g_y) = seen  # D's step (data, samples), then G's step
    assert torch.equal(real_y, D.assign(real))
    # the codes G made them with (read twice per batch: in G's forward and for D's label)
    assert len(codes) == 4 and torch.equal(codes[0], codes[1]) and torch.equal(codes[2], codes[3])
    assert torch.equal(fake_y, codes[0]) and torch.equal(fake_g_y, codes[2])
    # the clusters: k-means of a draw from the ring, fitted into both players
    assert_close(G.cdf[-1], torch.tensor(1.0))
    assert bool((G.cdf.diff() > 0).all())
    assert not torch.equal(D.centroids, torch.zeros_like(D.centroids))


def test_d_without_a_cluster_judges_x_with_its_nearest_centroid():
    D = Trainer(ring8()).D.eval()
    x = torch.randn(10, 2)
    assert_close(D(x), D(x, D.assign(x)))
    assert not torch.equal(D(x), D(x, (D.assign(x) + 1) % 3))


def test_the_clusters_are_saved_with_g_and_loaded_with_the_run(tmp_path):
    trainer = fit(ring8(), tmp_path / "run")
    run = load_run(tmp_path / "run")
    assert torch.equal(run.G.cdf, trainer.sampler.cdf)
    assert torch.equal(run.G.centroids, trainer.sampler.centroids)
    assert torch.equal(load_discriminator(run).centroids, trainer.D.centroids)
    assert torch.equal(trainer.D.centroids, trainer.sampler.centroids)  # one set of clusters for both players
    assert torch.equal(generate(run.G, 50, seed=1), generate(trainer.sampler, 50, seed=1))


def test_image_data_are_clustered_in_pixel_space():
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.full((20, 1, 8, 8), -0.8), torch.full((40, 1, 8, 8), 0.8)]) + 0.01 * torch.randn(
        60, 1, 8, 8, generator=g)
    cfg = config.resolve("mnist5k-dcgan", {"model.clusters": 2, "model.width": 4, "data.batch_size": 8})
    trainer = Trainer(cfg, data=TensorData(x, None, name="two-shades"))
    G, D = trainer.G, trainer.D
    assert D.centroids.shape == (2, 64)
    frequencies = torch.diff(G.cdf, prepend=torch.zeros(1))
    dark = int(D.centroids.mean(1).argmin())
    assert_close(D.centroids[dark].mean(), torch.tensor(-0.8), atol=0.01, rtol=0)
    assert_close(frequencies[dark], torch.tensor(1 / 3))


def test_more_clusters_than_data_points_is_one_line_from_the_cli(tmp_path):
    import subprocess
    import sys

    import numpy as np

    data = tmp_path / "five.npz"
    np.savez(data, x=np.zeros((5, 1, 8, 8), dtype=np.float32))
    out = subprocess.run([sys.executable, "-m", "gankit", "train", "mnist5k-dcgan", "--out", str(tmp_path / "run"),
                          "--set", "data.name=npz", f"data.path={data}", "model.clusters=6", "model.width=4",
                          "data.batch_size=4", "train.steps=1"], capture_output=True, text=True)
    assert out.returncode != 0
    assert out.stderr.strip().splitlines()[-1] == (
        "gankit: error: model.clusters=6: needs between 2 and as many clusters as data points (5)")
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "run").exists()  # refused before anything was written


@pytest.mark.parametrize("over, key", [
    ({"model.clusters": 1}, "model.clusters"),
    ({"model.clusters": 4, "model.pack": 2}, "model.clusters"),
    ({"model.clusters": 4, "model.family": "paper-mlp", "data.name": "mnist5k"}, "model.clusters"),
    ({"model.clusters": 4, "model.conditional": "cgan", "data.name": "mnist5k"}, "model.clusters"),
])
def test_meaningless_cluster_settings_are_one_line_naming_the_key(over, key):
    with pytest.raises(GankitError, match=key) as err:
        config.resolve("ring8", over)
    assert "\n" not in str(err.value)


def test_the_plain_game_switches_self_conditioning_off():
    assert config.resolve("mnist5k-dcgan", {}).model.clusters > 0  # the preset self-conditions
    assert config.resolve("mnist5k-dcgan", {"train.plain": True}).model.clusters == 0
    with pytest.raises(GankitError, match="train.plain"):
        config.resolve("mnist5k-dcgan", {"train.plain": True, "model.clusters": 10})


@pytest.fixture
def threads():
    """Run a body at a given torch / OpenMP / BLAS thread count; the process's own counts come back after."""
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    limits = []

    def at(n):
        torch.set_num_threads(n)
        limits.append(threadpool_limits(limits=n))

    yield at
    for limit in limits:
        limit.restore_original_limits()
    torch.set_num_threads(before)


@pytest.mark.parametrize("data, k", [("ring8", 20), ("mnist5k", 100)])
def test_fit_clusters_is_bit_identical_at_one_and_two_threads(threads, data, k):
    # scikit-learn's float32 k-means run at the process's threads gave centroids 5e-5 apart on ring8
    # (seed 3) and 7e-7 apart on the digits at 1 and 2 threads; a seed must fix the clusters.
    from gankit.data import load_dataset
    from gankit.models.clusters import FIT_POINTS

    source = load_dataset(data)
    x = source.x if isinstance(source, TensorData) else source.sample(FIT_POINTS, torch.Generator().manual_seed(3))
    found = []
    for n in (1, 2, 1):
        threads(n)
        found.append(fit_clusters(x, k, seed=3))
    for centroids, frequencies in found[1:]:
        assert torch.equal(centroids, found[0][0]) and torch.equal(frequencies, found[0][1])
    assert torch.get_num_threads() == 1  # the process's count is given back after the fit
    assert found[0][0].shape == (k, x[0].numel()) and found[0][0].dtype == torch.float32
    assert_close(found[0][1].sum(), torch.tensor(1.0))


def test_a_self_conditioned_trainer_holds_the_same_clusters_at_one_and_two_threads():
    before = torch.get_num_threads()
    try:  # train.threads sets the process's count
        one, two = [Trainer(ring8(**{"model.clusters": 20, "train.threads": n, "seed": 3})) for n in (1, 2)]
    finally:
        torch.set_num_threads(before)
    for name in ("centroids", "cdf"):
        assert torch.equal(getattr(one.G, name), getattr(two.G, name))
    assert torch.equal(one.D.centroids, two.D.centroids)
    assert torch.equal(one.G.centroids, one.D.centroids)
    # and the weights built from the seed agree too (not only the clusters)
    for (key, a), b in zip(one.G.state_dict().items(), two.G.state_dict().values()):
        assert torch.equal(a, b), key


def test_nearest_does_not_depend_on_the_batch_it_is_in():
    # a rank sees half the batch: each point's cluster must not depend on its neighbours
    g = torch.Generator().manual_seed(0)
    centroids = torch.randn(100, 784, generator=g)
    x = torch.randn(64, 784, generator=g)
    whole = nearest(x, centroids)
    assert torch.equal(torch.cat([nearest(x[:32], centroids), nearest(x[32:], centroids)]), whole)
    assert torch.equal(torch.cat([nearest(x[i:i + 1], centroids) for i in range(64)]), whole)
