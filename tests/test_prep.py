"""gankit prep: a messy folder of images -> one uint8 npz that data.name=npz reads."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main
from gankit.data.files import npz
from gankit.errors import GankitError
from gankit.photos import write_photo_crops
from gankit.prep import prep_folder, read_manifest


def _photo(seed, w=80, h=60):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture
def messy(tmp_path):
    """Two class folders with every kind of file a user's folder holds."""
    src = tmp_path / "src"
    (src / "cats" / "deep").mkdir(parents=True)
    (src / "dogs").mkdir()
    Image.fromarray(_photo(0)).save(src / "cats" / "a.jpg", quality=95)
    Image.fromarray(_photo(1)).save(src / "cats" / "B.JPEG", quality=95)
    Image.fromarray(_photo(2)).save(src / "cats" / "deep" / "c.png")
    Image.fromarray(_photo(3)).save(src / "cats" / "d.webp", lossless=True)
    Image.fromarray(_photo(4)[..., 0]).save(src / "dogs" / "grey.png")  # mode L
    rgba = np.concatenate([_photo(5), np.full((60, 80, 1), 128, np.uint8)], 2)
    Image.fromarray(rgba, "RGBA").save(src / "dogs" / "rgba.png")
    Image.fromarray(_photo(6)).convert("P", palette=Image.Palette.ADAPTIVE).save(src / "dogs" / "palette.png")
    Image.fromarray(_photo(7)).save(src / "dogs" / "cut.jpg", quality=95)
    data = (src / "dogs" / "cut.jpg").read_bytes()
    (src / "dogs" / "cut.jpg").write_bytes(data[: len(data) // 2])  # truncated JPEG
    (src / "dogs" / "notes.jpg").write_text("not an image at all\n")
    Image.fromarray(_photo(8, 10, 10)).save(src / "dogs" / "tiny.png")
    shutil.copy(src / "cats" / "a.jpg", src / "dogs" / "copy_of_a.jpg")
    (src / "dogs" / "README.txt").write_text("ignored: not an image extension\n")
    (src / ".hidden.png").write_bytes(b"hidden files are not read")
    Image.fromarray(_photo(9)).save(src / "loose.png")  # no class: skipped with --labels
    return src


def test_prep_names_every_bad_file_once_and_writes_a_readable_npz(messy, tmp_path, capsys):
    out = tmp_path / "data.npz"
    assert main(["prep", str(messy), "--out", str(out), "--size", "32", "--labels"]) == 0
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("skipped ")]
    reasons = {line.split(":", 1)[0].removeprefix("skipped "): line.split(":", 1)[1] for line in lines}
    assert sorted(reasons) == ["dogs/copy_of_a.jpg", "dogs/cut.jpg", "dogs/notes.jpg", "dogs/tiny.png", "loose.png"]
    assert len(lines) == 5  # each named once
    assert "duplicate of cats/a.jpg" in reasons["dogs/copy_of_a.jpg"]
    assert "truncated" in reasons["dogs/cut.jpg"]
    assert "not an image" in reasons["dogs/notes.jpg"]
    assert "too small (10x10" in reasons["dogs/tiny.png"]
    assert "outside the class sub-folders" in reasons["loose.png"]
    assert "kept 7 images 3x32x32 (cats 4, dogs 3), skipped 5, ignored 1" in captured.out

    with np.load(out, allow_pickle=False) as f:
        assert f["x"].dtype == np.uint8 and f["x"].shape == (7, 3, 32, 32)
        np.testing.assert_array_equal(f["y"], [0, 0, 0, 0, 1, 1, 1])  # sorted walk: cats a, B, d, deep/c
        assert list(f["classes"]) == ["cats", "dogs"]
        x = f["x"]
    data = npz(str(out))  # the reader training uses (data.name=npz data.path=...)
    assert tuple(data.x.shape) == (7, 3, 32, 32) and data.num_classes == 2
    np.testing.assert_allclose(data.x.numpy(), x / 127.5 - 1, atol=1e-6)
    # grey became three equal channels; RGBA at alpha 128 over white is lighter than the photo
    grey = x[4]
    np.testing.assert_array_equal(grey[0], grey[1])
    np.testing.assert_array_equal(grey[0], grey[2])
    assert x[6].mean() > 170  # rgba.png (sorted: grey, palette, rgba): half-transparent over white

    manifest = read_manifest(out)
    assert manifest == json.loads((tmp_path / "data.manifest.json").read_text())
    assert manifest["settings"]["resize_filter"].startswith("lanczos")
    assert [s["path"] for s in manifest["sources"]][:2] == ["cats/B.JPEG", "cats/a.jpg"]
    assert {s["path"] for s in manifest["skipped"]} == set(reasons)
    with Image.open(tmp_path / "data.contact.png") as sheet:
        assert sheet.mode == "RGB" and sheet.size == (4 * 34 + 2, 2 * 34 + 2)  # rows: classes; columns: the larger class


def test_prep_channels_crop_modes_and_limits(messy, tmp_path, capsys):
    out = tmp_path / "grey.npz"
    result = prep_folder(messy, out, 16, crop="pad", channels=1, max_images=3)
    assert result.shape == (3, 1, 16, 16)
    with np.load(out) as f:
        x = f["x"]
    assert "y" not in np.load(out).files
    # 80x60 padded into 16x16: 12 rows of picture, 2 white rows above and below
    np.testing.assert_array_equal(x[:, 0, :2], 255)
    np.testing.assert_array_equal(x[:, 0, -2:], 255)
    stretched = prep_folder(messy / "cats", tmp_path / "s.npz", 16, crop="stretch")
    assert stretched.shape == (4, 3, 16, 16)


@pytest.mark.parametrize("setup", ["empty", "missing", "only_bad"])
def test_prep_writes_nothing_on_an_empty_or_unreadable_source(tmp_path, capsys, setup):
    src = tmp_path / "src"
    if setup != "missing":
        src.mkdir()
    if setup == "only_bad":
        (src / "x.jpg").write_text("no")
    out = tmp_path / "out" / "data.npz"
    assert main(["prep", str(src), "--out", str(out), "--size", "32"]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("gankit: error")]
    assert len(errors) == 1 and str(src) in errors[0] and "Traceback" not in err
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_photo_crops_are_deterministic_and_prep_into_two_classes(tmp_path):
    a = write_photo_crops(tmp_path / "a", num=3, size=24, seed=5)
    b = write_photo_crops(tmp_path / "b", num=3, size=24, seed=5)
    assert [p.relative_to(tmp_path / "a") for p in a] == [p.relative_to(tmp_path / "b") for p in b]
    assert all(p.read_bytes() == q.read_bytes() for p, q in zip(a, b))
    c = write_photo_crops(tmp_path / "c", num=3, size=24, seed=6)
    assert a[0].read_bytes() != c[0].read_bytes()
    result = prep_folder(tmp_path / "a", tmp_path / "a.npz", 24, labels=True)
    assert result.shape == (6, 3, 24, 24) and result.classes == ["china", "flower"]


def test_prep_rejects_bad_options(tmp_path):
    with pytest.raises(GankitError, match="--crop"):
        prep_folder(tmp_path, tmp_path / "d.npz", 32, crop="zoom")
    with pytest.raises(GankitError, match="must end in .npz"):
        prep_folder(tmp_path, tmp_path / "d.zip", 32)


def test_prep_applies_exif_orientation(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    image = Image.fromarray(np.full((60, 80, 3), 20, np.uint8))  # landscape, dark
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    image.save(src / "rotated.jpg", exif=exif.tobytes(), quality=95)
    image.save(src / "plain.jpg", quality=95)
    prep_folder(src, tmp_path / "d.npz", 16, crop="pad", channels=1)
    with np.load(tmp_path / "d.npz") as f:
        plain, rotated = f["x"][0, 0], f["x"][1, 0]  # sorted: plain.jpg, rotated.jpg
    # landscape: white bands above and below; shown upright (portrait): white bands left and right
    assert plain[0].min() == 255 and plain[2:-2, 0].max() < 60
    assert rotated[:, 0].min() == 255 and rotated[0, 2:-2].max() < 60
