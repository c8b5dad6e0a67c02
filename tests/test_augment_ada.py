import pytest
import torch
from torch.testing import assert_close

from gankit import GankitError, config
from gankit.augment import AdaptiveAugment, adaptive_policy, parse_policy
from gankit.data import TensorData
from gankit.models import build, sample_noise
from gankit.objectives import build_objective
from gankit.train import Trainer


def test_ada_alone_means_every_policy_and_with_names_only_those():
    assert adaptive_policy(parse_policy("ada")) == (True, ("color", "translation", "cutout"))
    assert adaptive_policy(parse_policy("ada,cutout")) == (True, ("cutout",))
    assert adaptive_policy(parse_policy("color")) == (False, ("color",))
    with pytest.raises(GankitError, match=r"^train.augment: unknown policy 'adda'"):
        parse_policy("adda")


def test_p_moves_by_images_over_kimg_toward_the_target_and_stays_in_0_1():
    ada = AdaptiveAugment(("cutout",), target=0.6, kimg=1.0)
    ada.observe(torch.tensor([1.0, 2.0, 3.0, -1.0]))  # r_t = (1 + 1 + 1 - 1) / 4 = 0.5 < 0.6
    ada.adjust(images=100)
    assert ada.p == 0.0 and ada.rt == 0.5  # clamped at 0
    ada.observe(torch.tensor([1.0, 2.0, 3.0, 4.0]))  # r_t = 1 > 0.6: up by 100 / 1000
    ada.adjust(images=100)
    assert_close(ada.p, 0.1)
    ada.observe(torch.tensor([5.0, -1.0]))
    ada.observe(torch.tensor([-2.0, -3.0]))  # two minibatches: r_t = -0.5
    ada.adjust(images=50)
    assert_close(ada.p, 0.05)
    ada.adjust(images=50)  # nothing observed since: p stays
    assert_close(ada.p, 0.05)
    for _ in range(30):
        ada.observe(torch.ones(3))
        ada.adjust(images=100)
    assert ada.p == 1.0


def test_each_image_is_augmented_with_probability_p():
    x = torch.ones(4000, 3, 8, 8)
    gen = torch.Generator().manual_seed(0)
    state = gen.get_state()
    assert AdaptiveAugment(("cutout",), kimg=1.0, p=0.0).apply(x, gen) is x
    assert torch.equal(gen.get_state(), state)  # p = 0 draws nothing
    cut = (AdaptiveAugment(("cutout",), p=0.25).apply(x, gen) == 0).flatten(1).any(1).float().mean()
    assert_close(cut.item(), 0.25, rtol=0, atol=0.03)  # 3 sd of a binomial proportion at n=4000 is 0.02
    assert bool((AdaptiveAugment(("cutout",), p=1.0).apply(x, gen) == 0).flatten(1).any(1).all())


def test_ada_state_round_trips_exactly():
    a = AdaptiveAugment(("color",), p=0.3)
    a.observe(torch.tensor([1.0, -1.0, 1.0]))
    b = AdaptiveAugment(("color",))
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == a.state_dict()


def _overfit_run(n: int, steps: int = 200, seed: int = 0) -> list[float]:
    """ADA on data drawn from G's own initial distribution, G frozen (lr 1e-9): D can tell the data from
    G's samples only by memorising them. n = 32 (the minibatch) it can; n = 8192 it cannot in 200 steps."""
    cfg = config.resolve("images64", {
        "data.path": "unused.npz", "model.family": "mlp", "model.width": 64, "model.depth": 2, "model.z_dim": 16,
        "model.spectral_norm": False, "data.batch_size": 32, "train.k": 1, "train.loss": "gan", "train.lr_g": 1e-9,
        "train.lr_d": 4e-3, "train.beta1": 0.5, "train.beta2": 0.999, "train.ema": 0.0, "train.ada_kimg": 2.0,
        "seed": seed})
    torch.manual_seed(cfg.seed)  # the Trainer builds the same G from the same seed
    G, _ = build(cfg.model, (3, 8, 8))
    with torch.no_grad():
        x = G(sample_noise(G, n, torch.Generator().manual_seed(99)))
    trainer = Trainer(cfg, data=TensorData(x, name="G's own samples"))
    ps = []
    for _ in range(steps):
        trainer.train_step()
        ps.append(trainer.augment_p)
    return ps


@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_p_rises_when_d_memorises_a_tiny_data_set_and_stays_near_zero_when_it_cannot(seed):
    tiny, large = _overfit_run(32, seed=seed), _overfit_run(8192, seed=seed)
    assert sum(tiny[-50:]) / 50 > 0.15  # p climbs until r_t is back near the target 0.6 (0.26-0.38 seen)
    assert max(large) <= 0.065  # at most one adjustment of 4 x 32 / 2000 above 0 (0 seen)


def test_objective_augments_with_p_and_collects_real_outputs_only():
    cfg = config.resolve("images64", {"data.path": "unused.npz", "train.ada_kimg": 1.0})
    obj = build_objective(cfg)
    assert obj.ada is not None and obj.augment == ("color", "translation", "cutout")
    D = lambda x, y=None: x.flatten(1).mean(1)  # noqa: E731
    real, fake = torch.ones(6, 3, 8, 8), -torch.ones(6, 3, 8, 8)
    obj.discriminator_loss(D, real, fake)
    obj.generator_loss(D, fake)
    assert obj.ada.state_dict()["count"] == 6 and obj.ada.state_dict()["signs"] == 6.0
