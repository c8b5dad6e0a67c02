"""What the readers of the user's files share: checked paths, one-line errors, pixel scaling."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from gankit.errors import GankitError


def one_line(err: BaseException) -> str:
    """An exception's text on one line, with its type when the text alone says little."""
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def os_message(path: Path, err: OSError) -> str:
    if isinstance(err, FileNotFoundError):
        return f"no such file: {path}"
    if isinstance(err, IsADirectoryError):
        return f"{path}: is a folder, expected a file"
    if isinstance(err, PermissionError):
        return f"{path}: permission denied"
    return f"{path}: cannot read ({err.strerror or one_line(err)})"


def check_split(dataset: str, split: str, valid: tuple[str, ...]) -> None:
    if split not in valid:
        raise GankitError(f"{dataset}: unknown split {split!r}; valid: {', '.join(valid)}")


def existing_folder(path: str | os.PathLike, expects: str) -> Path:
    """``path`` as an existing, readable folder, or a GankitError saying what is there instead."""
    if not os.fspath(path):  # Path("") would silently mean the current folder
        raise GankitError(f"no folder given ({expects})")
    folder = Path(path).expanduser()
    try:
        if folder.is_dir():
            os.listdir(folder)  # raises PermissionError now rather than a confusing "missing" later
            return folder
        if folder.exists():
            if folder.name.endswith((".tar.gz", ".tgz", ".zip")):
                raise GankitError(f"{folder}: is an archive; extract it and give the folder ({expects})")
            raise GankitError(f"{folder}: is a file; expected a folder ({expects})")
    except OSError as err:
        raise GankitError(os_message(folder, err)) from None
    raise GankitError(f"no such folder: {folder} ({expects})")


def existing_file(path: str | os.PathLike) -> Path:
    """``path`` as an existing regular file, or a GankitError."""
    if not os.fspath(path):
        raise GankitError("no file given")
    file = Path(path).expanduser()
    try:
        if file.is_dir():
            raise GankitError(f"{file}: is a folder, expected a file")
        if not file.exists():
            raise GankitError(f"no such file: {file}")
    except OSError as err:
        raise GankitError(os_message(file, err)) from None
    return file


def is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # e.g. a sub-folder we may not enter: report the file as missing
        return False


def pixels_to_unit(pixels: np.ndarray) -> torch.Tensor:
    """uint8 pixels p in 0..255 -> float32 p / 127.5 - 1 in [-1, 1] (0 -> -1, 255 -> 1 exactly)."""
    x = torch.from_numpy(pixels.astype(np.float32))
    return x.div_(127.5).sub_(1.0)  # in place: CIFAR-10's train split is 600 MB as float32


def check_labels(where: str, labels: np.ndarray, n: int, num_classes: int) -> None:
    if len(labels) != n:
        raise GankitError(f"{where}: {n} images but {len(labels)} labels")
    if n and (labels.min() < 0 or labels.max() >= num_classes):
        bad = int(np.flatnonzero((labels < 0) | (labels >= num_classes))[0])
        raise GankitError(
            f"{where}: label {int(labels[bad])} at index {bad} is outside 0..{num_classes - 1}"
        )


def walk_files(folder: Path) -> list[Path]:
    """Every file under ``folder``, recursively, sorted, hidden files and folders skipped; an unreadable
    folder on the way is one GankitError naming it (the image-folder reader and ``gankit prep``)."""

    def fail(err: OSError) -> None:
        raise GankitError(os_message(Path(err.filename or folder), err))

    found = []
    for dirpath, dirnames, filenames in os.walk(folder, onerror=fail):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [Path(dirpath) / n for n in sorted(filenames) if not n.startswith(".")]
    return found
