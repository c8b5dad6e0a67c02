"""The bundled digit classifier: the feature network behind FID-CNN, KID, PRDC and the IS analogue.

Inception-v3 features mean little for 28x28 grayscale digits, and its weights would need a
download. gankit ships instead a small CNN trained on the mnist5k ``train`` split by
``scripts/train_classifier.py``; its weights (``assets/mnist5k_cnn.safetensors``, under
1 MB) and its test accuracy (``assets/mnist5k_cnn.json``) are package data, so every
metric built on it works offline. The penultimate layer (128 features after a ReLU) plays
the role of Inception's pool3 features; the logits that of Inception's softmax.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from gankit.errors import GankitError

WEIGHTS_FILE = "mnist5k_cnn.safetensors"
INFO_FILE = "mnist5k_cnn.json"


class DigitCNN(nn.Module):
    """A small CNN for (N, 1, 28, 28) grayscale digits in [-1, 1].

    Three 5x5/3x3 conv blocks (16, 32, 64 channels, BatchNorm, ReLU, max-pooling to 3x3),
    then a 576 -> 128 fully connected layer (the features) and a 128 -> 10 head (the
    logits). About 107k parameters (430 kB in float32).
    """

    num_features = 128  # read by torchmetrics to size its running sums
    num_classes = 10

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),  # 14x14
            nn.Conv2d(16, 32, 5, padding=2), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),  # 7x7
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),  # 3x3
            nn.Flatten(),
            nn.Linear(64 * 3 * 3, self.num_features), nn.ReLU(),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(self.num_features, self.num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features.

        Args:
            x: images, shape (N, 1, 28, 28), float in [-1, 1].

        Returns:
            Features of shape (N, 128), non-negative (after a ReLU).
        """
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of shape (N, 10) for images of shape (N, 1, 28, 28) in [-1, 1]."""
        return self.head(self.dropout(self.body(x)))


class FeatureNet(nn.Module):
    """``DigitCNN.features`` as a module, the form torchmetrics' ``feature=`` argument takes.

    torchmetrics reads ``num_features`` (so it never probes the network with a dummy
    uint8 image) and passes our float images through unchanged: its ``normalize`` flag
    only rescales inputs for its own Inception network. Features are returned in float64
    so that torchmetrics' FID is computed, and returned, in float64.
    """

    def __init__(self, net: DigitCNN):
        super().__init__()
        self.net = net
        self.num_features = net.num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features(x).double()


def check_digit_images(x: torch.Tensor, what: str = "images") -> None:
    """Raise GankitError unless ``x`` has shape (N, 1, 28, 28)."""
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise GankitError(
            f"{what}: the bundled digit classifier needs images of shape (N, 1, 28, 28), got {tuple(x.shape)}"
        )


def _asset(name: str) -> Path:
    return Path(str(resources.files("gankit") / "assets" / name))


def classifier_info() -> dict:
    """The bundled classifier's record: test accuracy, seed, epochs, the command that trained it."""
    path = _asset(INFO_FILE)
    if not path.is_file():
        raise GankitError(f"the bundled classifier record {path} is missing: run scripts/train_classifier.py")
    return json.loads(path.read_text())


def load_classifier(path: str | Path | None = None) -> DigitCNN:
    """Load the bundled digit classifier (or weights at ``path``) in eval mode, frozen.

    Args:
        path: a safetensors file written by ``scripts/train_classifier.py``; None reads the
            weights shipped in ``gankit/assets``.

    Returns:
        A ``DigitCNN`` on the CPU, in eval mode, with ``requires_grad`` off.

    Raises:
        GankitError: the file is missing or does not hold DigitCNN weights.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    file = Path(path) if path is not None else _asset(WEIGHTS_FILE)
    if not file.is_file():
        raise GankitError(f"classifier weights {file} not found: run scripts/train_classifier.py")
    net = DigitCNN()
    try:
        net.load_state_dict(load_file(str(file)))
    except (RuntimeError, OSError, SafetensorError) as err:  # wrong keys/shapes, or not a safetensors file
        raise GankitError(f"{file}: not DigitCNN weights ({str(err).splitlines()[0]})") from None
    net.eval()
    net.requires_grad_(False)
    return net


@torch.no_grad()
def classify(net: DigitCNN, x: torch.Tensor, batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """Features and logits of ``net`` on images, in batches.

    Args:
        net: the classifier (put in eval mode here).
        x: images, shape (N, 1, 28, 28), in [-1, 1].
        batch_size: images per forward pass.

    Returns:
        (features of shape (N, 128), logits of shape (N, 10)), float32.
    """
    check_digit_images(x)
    net.eval()
    feats, logits = [], []
    for chunk in x.split(batch_size):
        f = net.features(chunk.float())
        feats.append(f)
        logits.append(net.head(f))  # dropout is the identity in eval mode
    return torch.cat(feats), torch.cat(logits)
