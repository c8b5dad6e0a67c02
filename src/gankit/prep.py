"""``gankit prep``: a folder of the user's images -> one uint8 .npz that ``data.name=npz`` reads.

The folder is walked recursively (sorted, hidden files and folders skipped, symbolic links to
folders not followed); every file whose extension Pillow registers (any case) is a candidate.
Each candidate is decoded in full (``Image.load``), so corrupt and truncated files are found
here and not during training, turned upright by its EXIF orientation, converted to the chosen
channels (transparency composited on a white background, 16-bit grey scaled to 8 bits) and
brought to S x S:

- ``center``: the largest centred square, resized (``PIL.ImageOps.fit``);
- ``pad``: the longer side resized to S, the rest filled with the background (``ImageOps.pad``);
- ``stretch``: resized to S x S, the aspect ratio lost.

Every resize uses Pillow's Lanczos filter (``Image.Resampling.LANCZOS``), recorded in the
manifest. A file is skipped, with one reason, when it cannot be decoded (corrupt, truncated,
not an image), when its shorter side is below ``min_side`` (default S / 2: more than a 2x
enlargement), or when its bytes (SHA-256) or its prepared pixels repeat an earlier file's.

The archive holds ``x`` (N, C, S, S) uint8, with ``--labels`` also ``y`` (N,) int64 (the
sorted top-level sub-folders, numbered 0, 1, ... among those that kept an image) and
``classes`` (their names), and ``manifest``: a JSON string with the settings, every kept
source (relative path, SHA-256) and every skipped file with its reason. The same manifest is
written beside it (``DATA.manifest.json``), with a contact sheet (``DATA.contact.png``). Each
file is written to a temporary name and renamed, so an interrupted prep leaves no half file.
This follows NVlabs' stylegan2-ada ``dataset_tool.py`` (one command from a folder to a fixed-size
archive with its settings recorded).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from gankit.data.files.common import existing_folder, one_line, os_message, walk_files
from gankit.errors import GankitError

CROPS = ("center", "pad", "stretch")
BACKGROUND = (255, 255, 255)  # transparent pixels and pad margins: white
RESIZE_FILTER = "lanczos"  # PIL.Image.Resampling.LANCZOS
CONTACT_SHEET_MAX = 64  # images on the contact sheet


@dataclass
class PrepResult:
    """What ``prep_folder`` wrote and why it left files out.

    Attributes:
        out: the .npz archive.
        contact_sheet: the contact-sheet PNG.
        manifest_path: the manifest JSON beside the archive.
        shape: the archive's ``x`` shape (N, C, S, S).
        classes: the class names (sub-folders) with ``labels``, else [].
        counts: per class name, the images kept (``{"": N}`` without labels).
        skipped: (relative path, reason) of every skipped file, in walk order.
        ignored: files whose extension is not an image's.
    """

    out: Path
    contact_sheet: Path
    manifest_path: Path
    shape: tuple[int, ...]
    classes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    ignored: int = 0


def image_extensions() -> frozenset[str]:
    """The file extensions (lower case, with the dot) Pillow can open."""
    from PIL import Image

    return frozenset(ext.lower() for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN)


def _to_channels(im, channels: int):
    """Pillow image -> mode "L" or "RGB"; alpha composited on BACKGROUND; 16-bit grey scaled."""
    from PIL import Image

    if im.mode == "I" or im.mode.startswith("I;16"):
        grey = np.clip(np.asarray(im, dtype=np.float64) / 257.0, 0, 255)  # 0..65535 -> 0..255
        im = Image.fromarray(np.rint(grey).astype(np.uint8))
    elif im.mode == "F":
        im = Image.fromarray(np.rint(np.clip(np.asarray(im, dtype=np.float64), 0, 255)).astype(np.uint8))
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "La", "RGBa", "PA") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        back = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        im = Image.alpha_composite(back, rgba)
    return im.convert("L" if channels == 1 else "RGB")


def _square(im, size: int, crop: str):
    from PIL import Image, ImageOps

    lanczos = Image.Resampling.LANCZOS
    if crop == "center":
        return ImageOps.fit(im, (size, size), method=lanczos, centering=(0.5, 0.5))
    if crop == "pad":
        color = BACKGROUND[0] if im.mode == "L" else BACKGROUND
        return ImageOps.pad(im, (size, size), method=lanczos, color=color, centering=(0.5, 0.5))
    return im.resize((size, size), lanczos)


def _prepare(data: bytes, size: int, crop: str, channels: int, min_side: int) -> tuple[np.ndarray | None, str]:
    """(pixels (C, S, S) uint8, "") or (None, the reason the file is skipped), from a file's bytes."""
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                im.load()  # decode everything now: a truncated file fails here
                w, h = im.size
                if min(w, h) < min_side:
                    return None, f"too small ({w}x{h}; the shorter side must be >= {min_side})"
                im = ImageOps.exif_transpose(im)
                im = _square(_to_channels(im, channels), size, crop)
                pixels = np.asarray(im, dtype=np.uint8)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as err:
        return None, f"too large to decode safely ({one_line(err)})"
    except Image.UnidentifiedImageError:
        return None, "not an image Pillow can read"
    except OSError as err:  # (the bytes are in memory: no error here comes from the disk)
        text = one_line(err)
        return None, ("truncated" if "truncated" in text else "corrupt") + f" ({text})"
    except Exception as err:  # noqa: BLE001 - Pillow's format plugins raise many types on bad files
        return None, f"corrupt ({one_line(err)})"
    return (pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)), ""


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def contact_sheet(x: np.ndarray, y: np.ndarray | None, num_classes: int, max_images: int = CONTACT_SHEET_MAX):
    """A grid of up to ``max_images`` prepared images (uint8 (H', W', C)): with labels one row
    per class (its first images), else the images spread evenly over the archive."""
    import torch

    from gankit.viz import image_grid

    if y is not None and num_classes:
        largest = int(np.bincount(y, minlength=num_classes).max())
        per_row = max(1, min(16, max_images // num_classes, largest))
        rows = [np.flatnonzero(y == c)[:per_row] for c in range(num_classes)]
        pick, nrow = [], per_row
        for r in rows:  # pad each class row with blanks so that rows line up with classes
            pick += list(r) + [-1] * (per_row - len(r))
    else:
        n = min(max_images, len(x))
        pick, nrow = list(np.linspace(0, len(x) - 1, n).round().astype(int)), None
    images = torch.full((len(pick), *x.shape[1:]), -1.0)
    for i, j in enumerate(pick):
        if j >= 0:
            images[i] = torch.from_numpy(x[j].astype(np.float32) / 127.5 - 1)
    side = x.shape[-1]
    return image_grid(images, nrow, scale=max(1, 64 // side) if side < 32 else 1)


def prep_folder(src: str | os.PathLike, out: str | os.PathLike, size: int, *, crop: str = "center",
                labels: bool = False, max_images: int = 0, channels: int = 3, min_side: int | None = None,
                on_skip: Callable[[str, str], None] | None = None,
                progress: Callable[[int, int], None] | None = None) -> PrepResult:
    """Prepare every usable image under ``src`` as one uint8 archive (see the module docstring).

    Args:
        src: the folder of images (class sub-folders with ``labels``).
        out: the .npz to write; ``OUT.manifest.json`` and ``OUT.contact.png`` go beside it.
        size: S, the side of the square images written.
        crop: ``center``, ``pad`` or ``stretch``.
        labels: take class labels from the top-level sub-folders (images directly in ``src``
            are then skipped).
        max_images: stop after this many kept images (walk order; 0: all).
        channels: 1 (grey) or 3 (RGB).
        min_side: skip images whose shorter side is below this (default ``size // 2``).
        on_skip: called with (relative path, reason) for each skipped file, as it happens.
        progress: called with (files looked at, candidate files) after each candidate file.

    Returns:
        A ``PrepResult``.

    Raises:
        GankitError: bad options, a missing, unreadable or empty ``src``, or no usable image
            in it (then nothing is written).
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 4:
        raise GankitError(f"--size {size}: must be an integer >= 4")
    if crop not in CROPS:
        raise GankitError(f"--crop {crop}: must be one of {', '.join(CROPS)}")
    if channels not in (1, 3):
        raise GankitError(f"--channels {channels}: must be 1 or 3")
    if max_images < 0:
        raise GankitError(f"--max-images {max_images}: must be >= 0 (0: all)")
    min_side = size // 2 if min_side is None else min_side
    out = Path(out)
    if out.suffix != ".npz":
        raise GankitError(f"--out {out}: must end in .npz")
    folder = existing_folder(src, "gankit prep expects a folder of images")
    files = walk_files(folder)
    extensions = image_extensions()
    candidates = [f for f in files if f.suffix.lower() in extensions]
    if not candidates:
        raise GankitError(f"{folder}: no image files found ({len(files)} other files); nothing written")

    skipped: list[tuple[str, str]] = []

    def skip(rel: str, reason: str) -> None:
        skipped.append((rel, reason))
        if on_skip is not None:
            on_skip(rel, reason)

    kept: list[np.ndarray] = []
    sources: list[dict] = []
    class_of: list[str] = []
    seen_bytes: dict[str, str] = {}
    seen_pixels: dict[str, str] = {}
    for done, file in enumerate(candidates, 1):
        if max_images and len(kept) >= max_images:
            break
        if progress is not None and done > 1:
            progress(done - 1, len(candidates))
        rel = file.relative_to(folder).as_posix()
        if labels and "/" not in rel:
            skip(rel, "outside the class sub-folders (--labels takes classes from sub-folders)")
            continue
        try:
            data = file.read_bytes()
        except OSError as err:
            skip(rel, os_message(file, err).replace(f"{file}: ", ""))
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen_bytes:
            skip(rel, f"duplicate of {seen_bytes[digest]} (same bytes)")
            continue
        seen_bytes[digest] = rel
        pixels, reason = _prepare(data, size, crop, channels, min_side)
        if pixels is None:
            skip(rel, reason)
            continue
        pixel_digest = hashlib.sha256(pixels.tobytes()).hexdigest()
        if pixel_digest in seen_pixels:
            skip(rel, f"duplicate of {seen_pixels[pixel_digest]} (same prepared pixels)")
            continue
        seen_pixels[pixel_digest] = rel
        kept.append(pixels)
        sources.append({"path": rel, "sha256": digest})
        class_of.append(rel.split("/", 1)[0] if labels else "")
    if progress is not None and len(candidates) > 1:
        progress(len(candidates), len(candidates))  # done (or stopped at --max-images)
    if not kept:
        raise GankitError(f"{folder}: no usable images ({len(skipped)} skipped); nothing written")

    x = np.stack(kept)
    arrays: dict[str, np.ndarray] = {"x": x}
    classes = sorted(set(class_of)) if labels else []
    y = None
    if labels:
        index = {name: i for i, name in enumerate(classes)}
        y = np.array([index[c] for c in class_of], dtype=np.int64)
        arrays.update(y=y, classes=np.array(classes))
        for s, c in zip(sources, class_of):
            s["label"] = index[c]
    counts = {c: class_of.count(c) for c in (classes or [""])}
    manifest = {
        "tool": "gankit prep",
        "source": str(folder.resolve()),
        "settings": {"size": size, "crop": crop, "channels": channels, "labels": labels, "max_images": max_images,
                     "min_side": min_side, "resize_filter": f"{RESIZE_FILTER} (Pillow)",
                     "background": list(BACKGROUND), "exif_orientation": "applied"},
        "shape": list(x.shape),
        "classes": classes,
        "counts": counts,
        "sources": sources,
        "skipped": [{"path": p, "reason": r} for p, r in skipped],
    }
    text = json.dumps(manifest, indent=1)
    arrays["manifest"] = np.array(text)

    out.parent.mkdir(parents=True, exist_ok=True)
    sheet_path = out.with_name(out.stem + ".contact.png")
    manifest_path = out.with_name(out.stem + ".manifest.json")
    from PIL import Image

    sheet = contact_sheet(x, y, len(classes))
    buf = io.BytesIO()
    Image.fromarray(sheet[..., 0] if sheet.shape[2] == 1 else sheet).save(buf, format="PNG")
    npz = io.BytesIO()
    np.savez(npz, **arrays)
    # The archive last: its presence means the contact sheet and manifest beside it are complete.
    _atomic_write(sheet_path, buf.getvalue())
    _atomic_write(manifest_path, text.encode())
    _atomic_write(out, npz.getvalue())
    return PrepResult(out, sheet_path, manifest_path, tuple(x.shape), classes, counts, skipped,
                      ignored=len(files) - len(candidates))


def summary(result: PrepResult) -> str:
    """One line of counts for the CLI."""
    kept = sum(result.counts.values())
    per_class = ", ".join(f"{c} {n}" for c, n in result.counts.items()) if result.classes else ""
    line = (f"kept {kept} images {result.shape[1]}x{result.shape[2]}x{result.shape[3]}"
            f"{' (' + per_class + ')' if per_class else ''}, skipped {len(result.skipped)}, "
            f"ignored {result.ignored} non-image files")
    return f"{line}: {result.out} (+ {result.contact_sheet.name}, {result.manifest_path.name})"


def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest stored in a prepared archive."""
    with np.load(path, allow_pickle=False) as f:
        if "manifest" not in f.files:
            raise GankitError(f"{path}: no manifest (not written by gankit prep)")
        return json.loads(str(f["manifest"]))


__all__ = ["CROPS", "PrepResult", "contact_sheet", "image_extensions", "prep_folder", "read_manifest", "summary"]
