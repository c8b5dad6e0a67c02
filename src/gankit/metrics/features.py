"""FID and KID under a feature network the user provides, as a TorchScript file.

A FID is only comparable with another FID computed under the same network, the same input
size and the same resize filter (stylegan2-ada-pytorch issue 283: 4.3 against 5.3 from the
resize filter alone). So every number here comes with the file's SHA-256, the input size,
the filter and the pixel range the network was fed.

**Loading without executing.** ``load_feature_net`` opens the file as a zip archive first and
refuses it, without handing it to any loader, unless it has the layout ``torch.jit.save``
writes: one top folder holding ``constants.pkl``, ``data.pkl`` and TorchScript source under
``code/``. A Python pickle (``torch.save`` of a module, or any ``pickle.dump``) lacks ``code/``
and is refused before it is read. ``torch.jit.load`` then reads the archive with PyTorch's C++
unpickler, which builds only tensors and TorchScript types and imports no Python, and the
network runs in the TorchScript interpreter.

**Feeding the network** (``FeatureSpec``). Images are gankit's (N, C, H, W) floats in [-1, 1];
grey images are repeated to three channels; when ``size`` > 0 they are resized to
size x size with ``torch.nn.functional.interpolate(mode="bilinear", antialias=True)``
(size 0: as they are, for a network that resizes itself, like the StyleGAN Inception file);
then given as ``uint8`` 0..255 (round((x + 1) * 127.5), what NVlabs' Inception file takes) or as
``float`` in [-1, 1]. A network whose ``forward`` has a ``return_features`` argument (the
StyleGAN Inception file) is called with ``return_features=True``; its output is flattened
to (N, d).
"""

from __future__ import annotations

import hashlib
import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gankit.errors import GankitError
from gankit.metrics import frechet

INPUTS = ("uint8", "float")
RESIZE_FILTER = "bilinear, antialiased (torch.nn.functional.interpolate)"
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000


@dataclass(frozen=True)
class FeatureSpec:
    """How images are fed to the user's network.

    Attributes:
        size: side the images are resized to (0: as they are).
        input: ``uint8`` (0..255) or ``float`` ([-1, 1]).
    """

    size: int = 0
    input: str = "uint8"

    def check(self) -> None:
        if self.size < 0:
            raise GankitError(f"--feature-size {self.size}: must be >= 0 (0: the images' own size)")
        if self.input not in INPUTS:
            raise GankitError(f"--feature-input {self.input}: must be one of {', '.join(INPUTS)}")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_torchscript_archive(path: Path) -> None:
    """Raise a one-line GankitError unless ``path`` has the zip layout of ``torch.jit.save``.

    Only the zip's directory is read; nothing in it is unpickled or run.
    """
    if not zipfile.is_zipfile(path):
        raise GankitError(f"--features {path}: not a TorchScript file (not a zip archive; a pickle is never loaded)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as err:
        raise GankitError(f"--features {path}: not a readable zip archive ({err})") from None
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) != 1:
        raise GankitError(f"--features {path}: not a TorchScript file (expected one top folder, found {len(tops)})")
    top = tops.pop()
    has = set(names)
    code = [n for n in names if n.startswith(f"{top}/code/") and n.endswith(".py")]
    if f"{top}/constants.pkl" not in has or f"{top}/data.pkl" not in has or not code:
        raise GankitError(f"--features {path}: not a TorchScript file (no code/ and constants.pkl: a torch.save "
                          "pickle is refused unread; save the network with torch.jit.script(net).save(FILE))")


def load_feature_net(path: str | os.PathLike) -> tuple[torch.jit.ScriptModule, str]:
    """The user's TorchScript feature network (eval mode, CPU) and the file's SHA-256.

    Raises:
        GankitError: a missing file or anything that is not a TorchScript archive (see the
            module docstring: such a file is refused before any of it is loaded).
    """
    path = Path(path)
    if not path.is_file():
        raise GankitError(f"--features {path}: no such file")
    check_torchscript_archive(path)
    try:
        with warnings.catch_warnings():  # TorchScript is deprecated in favour of torch.export, but still loads
            warnings.simplefilter("ignore", DeprecationWarning)
            net = torch.jit.load(str(path), map_location="cpu")
    except Exception as err:  # noqa: BLE001 - the C++ loader raises RuntimeError and others on a bad archive
        raise GankitError(f"--features {path}: not a loadable TorchScript file ({str(err).splitlines()[0]})") from None
    return net.eval(), sha256(path)


class FeatureInput(nn.Module):
    """Images in [-1, 1] -> what the user's network takes (``FeatureSpec``) -> (N, d) float64."""

    def __init__(self, net: nn.Module, spec: FeatureSpec):
        super().__init__()
        self.net, self.spec = net, spec
        schema = getattr(getattr(net, "forward", None), "schema", None)
        self.wants_flag = schema is not None and any(a.name == "return_features" for a in schema.arguments)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        if self.spec.size and tuple(x.shape[2:]) != (self.spec.size, self.spec.size):
            x = nn.functional.interpolate(x, size=(self.spec.size, self.spec.size), mode="bilinear",
                                          align_corners=False, antialias=True).clamp(-1, 1)
        if self.spec.input == "uint8":
            x = ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        out = self.net(x, return_features=True) if self.wants_flag else self.net(x)
        return out.double().reshape(len(out), -1)


def features(net: nn.Module, spec: FeatureSpec, x: torch.Tensor, batch_size: int = 100) -> torch.Tensor:
    """(N, d) float64 features of images x (N, C, H, W) in [-1, 1]."""
    spec.check()
    try:
        return frechet.extract_features(FeatureInput(net, spec), x, batch_size)
    except GankitError:
        raise
    except Exception as err:  # noqa: BLE001 - the user's network may fail in any way on our input
        raise GankitError(f"the feature network failed on images of shape {tuple(x.shape[1:])} fed as "
                          f"{spec.input}{f' at {spec.size}x{spec.size}' if spec.size else ''}: "
                          f"{str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}") from None


def compare(real: torch.Tensor, fake: torch.Tensor, net: nn.Module, spec: FeatureSpec, *, file: str = "",
            digest: str = "", seed: int = 0) -> dict[str, Any]:
    """FID and KID between two image sets under the user's network, with what fixes the numbers.

    Args:
        real, fake: images (N, C, H, W) in [-1, 1] (N >= 2 each).

    Returns:
        ``fid``, ``kid``, ``kid_std`` (subsets of min(1000, N_real, N_fake)), ``n_real``,
        ``n_fake`` and ``features``: the file, its SHA-256, the input size, the resize filter,
        the input range and the feature dimension.
    """
    for name, x in (("real", real), ("fake", fake)):
        if x.dim() != 4 or x.shape[1] not in (1, 3) or len(x) < 2:
            raise GankitError(f"{name} images: need at least 2 of shape (C, H, W) with C 1 or 3, got "
                              f"{tuple(x.shape)}")
    f_real, f_fake = features(net, spec, real), features(net, spec, fake)
    kid, kid_std = frechet.kid_from_features(f_real, f_fake, KID_SUBSETS, KID_SUBSET_SIZE, seed)
    return {
        "fid": frechet.fid_from_features(f_real, f_fake),
        "kid": kid,
        "kid_std": kid_std,
        "n_real": len(real),
        "n_fake": len(fake),
        "features": {"file": file, "sha256": digest, "input_size": spec.size or "native",
                     "resize_filter": RESIZE_FILTER if spec.size else "none", "input": spec.input,
                     "dim": f_real.shape[1]},
    }


def read_image_set(path: str | os.PathLike) -> torch.Tensor:
    """Images (N, C, H, W) in [-1, 1] from an .npz (``gankit.data.files.npz``) or a folder of
    images of one size (``imagefolder``; use ``gankit prep`` first for mixed sizes)."""
    from gankit.data.files import imagefolder, npz

    path = Path(path)
    data = imagefolder(str(path)) if path.is_dir() else npz(str(path))
    if data.x.dim() != 4:
        raise GankitError(f"{path}: holds vectors of shape {tuple(data.x.shape[1:])}, not images")
    return data.x


def pixel_report(fake: torch.Tensor, train: torch.Tensor, limit: int = 1000, seed: int = 0) -> dict[str, Any]:
    """What can be said without a feature network: nearest-neighbour distances in pixel space.

    ``pixel_nn_fake_median``: median distance from a sample to its nearest training image;
    ``pixel_nn_train_median``: the same for a training image to its nearest *other* training
    image (leave one out), the scale of "a different image" in this data set;
    ``pixel_copies``: the fraction of samples nearer to a training image than
    ``COPY_RATIO`` x that scale (the memorisation rule of ``gankit.metrics.memorisation`` with
    a leave-one-out reference, for data without a held-out split). Up to ``limit`` of each set.
    """
    from gankit.metrics.memorisation import COPY_RATIO, nearest_distances

    g = torch.Generator().manual_seed(seed)
    fake = fake[torch.randperm(len(fake), generator=g)[:limit]]
    pick = torch.randperm(len(train), generator=g)[:limit]
    if len(train) < 2:
        raise GankitError("pixel distances need at least 2 training images")
    d_fake, _ = nearest_distances(fake, train)
    a = train[pick].reshape(len(pick), -1).float()
    b = train.reshape(len(train), -1).float()
    d = torch.cdist(a, b)
    d[torch.arange(len(pick)), pick] = float("inf")  # leave each image out of its own search
    d_train = d.min(1).values
    scale = float(d_train.median())
    return {"pixel_nn_fake_median": float(d_fake.median()), "pixel_nn_train_median": scale,
            "pixel_copies": float((d_fake < COPY_RATIO * scale).double().mean()), "pixel_n": len(fake)}
