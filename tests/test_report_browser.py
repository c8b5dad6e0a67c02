"""report.html opened in a real browser: headless Chromium through selenium and Debian's chromedriver.

Nothing is downloaded at run time: the browser and its driver are the system's
(``apt-get install chromium chromium-driver``; ``.ci/run`` installs them). Without them the
tests skip with one line saying so.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gankit.cli import main

from conftest import needs_chromium

pytestmark = needs_chromium

IMAGE_SECTIONS = ["curves", "samples", "animation", "reconstructions", "neighbours", "walk"]
POINT_SECTIONS = ["curves", "samples", "animation", "decision"]

# For every element <section id=...>: its id and the decoded width of each image in it;
# then the images outside any section.
PAGE_SCRIPT = """
const sections = Array.from(document.querySelectorAll('section')).map(s => ({
  id: s.id, widths: Array.from(s.querySelectorAll('img')).map(i => i.complete ? i.naturalWidth : -1)}));
const all = Array.from(document.images).map(i => i.complete ? i.naturalWidth : -1);
return {sections: sections, all: all, title: document.title};
"""


@pytest.fixture(scope="module")
def browser(open_chromium):
    return open_chromium("1200,900")


def inspect(driver, page: Path) -> dict:
    """Open ``page``; return its sections (id, decoded image widths), all image widths and console errors."""
    driver.get(page.resolve().as_uri())
    driver.execute_async_script("const done = arguments[arguments.length - 1];"
                                "Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)))"
                                ".then(() => done(true));")
    info = driver.execute_script(PAGE_SCRIPT)
    info["errors"] = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    return info


def problems(info: dict, expected: list[str]) -> list[str]:
    """What is wrong with an inspected page: a missing section, a section without images, an image not decoded, console errors."""
    found = {s["id"]: s["widths"] for s in info["sections"]}
    out = [f"section {key!r} missing" for key in expected + ["config"] if key not in found]
    out += [f"section {key!r} has no image" for key in expected if key in found and not found[key]]
    out += [f"image {i} not decoded (naturalWidth {w})" for i, w in enumerate(info["all"]) if w <= 0]
    return out + [f"console: {e}" for e in info["errors"]]


def _train_and_report(tmp_path_factory, preset: str, sets: list[str]) -> Path:
    run = tmp_path_factory.mktemp(preset) / "run"
    assert main(["train", preset, "--steps", "20", "--out", str(run), "--set", *sets,
                 "log.sample_every=10", "log.checkpoint_every=10", "log.every=5"]) == 0
    assert main(["report", str(run)]) == 0
    return run / "report.html"


@pytest.fixture(scope="module")
def image_report(tmp_path_factory) -> Path:
    return _train_and_report(tmp_path_factory, "digits-dcgan", ["model.width=8", "data.batch_size=16"])


@pytest.fixture(scope="module")
def points_report(tmp_path_factory) -> Path:
    return _train_and_report(tmp_path_factory, "ring8", ["model.width=16", "model.depth=2", "data.batch_size=32",
                                                        "log.grid=256"])


def test_image_run_report_decodes_in_chromium(browser, image_report):
    info = inspect(browser, image_report)
    assert problems(info, IMAGE_SECTIONS) == []
    assert [s["id"] for s in info["sections"]] == IMAGE_SECTIONS + ["config"]
    assert info["title"].startswith("gankit report")


def test_points_run_report_shows_the_decision_surface(browser, points_report):
    info = inspect(browser, points_report)
    assert problems(info, POINT_SECTIONS) == []
    assert [s["id"] for s in info["sections"]] == POINT_SECTIONS + ["config"]


def test_the_check_fails_on_a_removed_or_broken_image(browser, image_report, tmp_path):
    page = image_report.read_text()
    # Remove the latent walk's image: its section is then empty.
    removed = re.sub(r"(<section id='walk'>.*?)<img [^>]*>", r"\1", page, count=1, flags=re.S)
    assert removed != page
    (tmp_path / "removed.html").write_text(removed)
    assert problems(inspect(browser, tmp_path / "removed.html"), IMAGE_SECTIONS) == ["section 'walk' has no image"]
    # Corrupt the neighbours' PNG: the browser cannot decode it.
    broken = re.sub(r"(<section id='neighbours'>.*?src='data:image/png;base64,)([A-Za-z0-9+/]{40})",
                    r"\1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", page, count=1, flags=re.S)
    assert broken != page
    (tmp_path / "broken.html").write_text(broken)
    found = problems(inspect(browser, tmp_path / "broken.html"), IMAGE_SECTIONS)
    assert any(p.startswith("image ") and "not decoded" in p for p in found), found
