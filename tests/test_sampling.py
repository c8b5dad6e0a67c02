"""gankit sample --seeds / --trunc / --interpolate to .mp4 and .gif."""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.errors import GankitError
from gankit.runs import load_run
from gankit.sampling import parse_seeds, seed_images, seed_noise


def test_parse_seeds():
    assert parse_seeds("0-3,7, 10-11,2") == [0, 1, 2, 3, 7, 10, 11]
    for bad in ("", "3-1", "a", "-2", "1--2"):
        with pytest.raises(GankitError, match="--seeds"):
            parse_seeds(bad)


def _png(path):
    with Image.open(path) as im:
        return np.asarray(im)


def test_seed_images_are_the_same_alone_and_in_a_batch(photo_run, tmp_path, capsys):
    assert main(["sample", str(photo_run), "--seeds", "0-9", "--out", str(tmp_path / "all")]) == 0
    assert main(["sample", str(photo_run), "--seeds", "7", "--out", str(tmp_path / "one")]) == 0
    assert main(["sample", str(photo_run), "--seeds", "9,3,7", "--out", str(tmp_path / "mixed")]) == 0
    files = sorted(p.name for p in (tmp_path / "all").iterdir())
    assert files == [f"seed{s:04d}.png" for s in range(10)]
    alone = _png(tmp_path / "one" / "seed0007.png")
    assert alone.shape == (32, 32, 3) and alone.dtype == np.uint8
    np.testing.assert_array_equal(alone, _png(tmp_path / "all" / "seed0007.png"))
    np.testing.assert_array_equal(_png(tmp_path / "mixed" / "seed0007.png"), alone)
    np.testing.assert_array_equal(_png(tmp_path / "mixed" / "seed0003.png"), _png(tmp_path / "all" / "seed0003.png"))
    assert not np.array_equal(alone, _png(tmp_path / "all" / "seed0006.png"))  # seeds differ


def test_truncation_resamples_z_beyond_psi_and_keeps_the_rest(photo_run):
    G = load_run(photo_run).G
    z = seed_noise(G, 4)
    zt = seed_noise(G, 4, psi=0.5)
    assert zt.abs().max() <= 0.5
    inside = z.abs() <= 0.5
    torch.testing.assert_close(zt[inside], z[inside], rtol=0, atol=0)
    assert (zt[~inside] != z[~inside]).all()
    torch.testing.assert_close(seed_noise(G, 4, psi=0.5), zt, rtol=0, atol=0)  # deterministic
    torch.testing.assert_close(seed_noise(G, 4, psi=100.0), z, rtol=0, atol=0)  # psi beyond every |z_i|
    a, b = seed_images(G, [4], psi=0.5), seed_images(G, [4])
    assert a.shape == b.shape == (1, 3, 32, 32) and not torch.equal(a, b)
    with pytest.raises(GankitError, match="--trunc"):
        seed_noise(G, 0, psi=0.0)


def test_trunc_and_seeds_errors_are_one_line(photo_run, tmp_path, capsys):
    assert main(["sample", str(photo_run), "--num", "4", "--trunc", "0.5", "--out", str(tmp_path / "a.png")]) == 2
    assert "--trunc applies to --seeds" in capsys.readouterr().err
    assert main(["sample", str(photo_run), "--seeds", "0-3", "--out", str(tmp_path / "a.png")]) == 2
    assert "a folder" in capsys.readouterr().err
    assert not (tmp_path / "a.png").exists()


def test_walk_video_mp4_and_gif_decode_with_the_right_frames(photo_run, tmp_path, capsys):
    import imageio.v2 as imageio

    mp4, gif = tmp_path / "walk.mp4", tmp_path / "walk.gif"
    assert main(["sample", str(photo_run), "--interpolate", "10", "--out", str(mp4), "--fps", "10"]) == 0
    assert main(["sample", str(photo_run), "--interpolate", "7", "--num", "4", "--out", str(gif)]) == 0
    with imageio.get_reader(mp4, format="FFMPEG") as reader:
        frames = [f for f in reader]
        assert reader.get_meta_data()["fps"] == pytest.approx(10.0, rel=1e-6)
    # one walk of 32x32 images, enlarged 8x to 256x256
    assert len(frames) == 10 and frames[0].shape == (256, 256, 3)
    # the first frame is G at the walk's start: compare with the walk written as npz (H.264 is lossy)
    assert main(["sample", str(photo_run), "--interpolate", "10", "--num", "1", "--out", str(tmp_path / "w.npz")]) == 0
    with np.load(tmp_path / "w.npz") as f:
        first = (f["samples"][0].transpose(1, 2, 0) + 1) * 127.5
    decoded = frames[0][::8, ::8].astype(np.float64)  # every 8th pixel: one per image pixel
    assert np.abs(decoded - first).mean() < 12
    gif_frames = imageio.mimread(gif, format="GIF")
    # 4 walks in a 2x2 grid, 2 px gaps: 2 * 34 + 2 = 70, enlarged 4x to 280
    assert len(gif_frames) == 7 and gif_frames[0].shape[:2] == (280, 280)
    assert main(["sample", str(photo_run), "--interpolate", "5", "--out", str(tmp_path / "w.avi")]) == 2
    assert ".mp4 or .gif" in capsys.readouterr().err


class _StubG(torch.nn.Module):
    """A 'generator' whose image shows its class and z: (1, 2, 2) with pixel 0 = class / 10."""

    def __init__(self, num_classes=0, noise="gaussian"):
        super().__init__()
        self.z_dim, self.noise, self.num_classes = 8, noise, num_classes
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, z, c=None):
        out = torch.zeros(len(z), 1, 2, 2)
        out[:, 0, 0, 0] = 0 if c is None else c.float() / 10
        out[:, 0, 1, :] = z[:, :2] / 10
        return out


def test_conditional_seeds_take_class_s_mod_c_or_the_label():
    G = _StubG(num_classes=3)
    x = seed_images(G, [0, 1, 2, 3, 4])
    torch.testing.assert_close(x[:, 0, 0, 0], torch.tensor([0, 1, 2, 0, 1]) / 10)
    torch.testing.assert_close(seed_images(G, [4], label=2)[:, 0, 0, 0], torch.tensor([0.2]))
    torch.testing.assert_close(seed_images(G, [4], label=2)[:, 0, 1], x[4:, 0, 1])  # the same z
    with pytest.raises(GankitError, match="--label 3"):
        seed_images(G, [0], label=3)


def test_truncating_uniform_noise_makes_it_uniform_on_minus_psi_psi():
    G = _StubG(noise="uniform")
    z = torch.cat([seed_noise(G, s, psi=0.5) for s in range(400)])
    assert z.abs().max() <= 0.5
    # uniform on [-0.5, 0.5]: mean 0, variance 1/12
    torch.testing.assert_close(z.mean(), torch.tensor(0.0), atol=0.02, rtol=0)
    torch.testing.assert_close(z.var(), torch.tensor(1 / 12), atol=0.006, rtol=0)
    torch.testing.assert_close(seed_noise(G, 5, psi=1.8), seed_noise(G, 5), rtol=0, atol=0)  # psi >= sqrt 3


@pytest.mark.parametrize("training", [True, False])
def test_generate_samples_in_eval_mode_and_gives_the_callers_mode_back(training):
    from gankit import config
    from gankit.models import build
    from gankit.runs import generate

    G, _ = build(config.resolve("mnist5k-dcgan", {"model.clusters": 0, "model.width": 8}).model, (1, 28, 28))
    G.train(training)
    seen = []
    G.register_forward_pre_hook(lambda module, args: seen.append(module.training))
    first = generate(G, 6, seed=3, batch_size=4)
    assert seen == [False, False]  # both batches drawn in eval mode (BatchNorm's running statistics)
    assert G.training is training and all(m.training is training for m in G.modules())
    torch.testing.assert_close(generate(G, 6, seed=3, batch_size=4), first, rtol=0, atol=0)  # eval: a seed is a sample
