"""What the screenshot scripts share: Debian's headless Chromium, started the same way, and the PNG written and
quantized the same way. Run from scripts/ (``python scripts/NAME.py``), which puts this folder on the path."""

from __future__ import annotations

import shutil
from pathlib import Path


def chromium(width: int, height: int):
    """A headless Chromium (Debian's ``chromium`` + ``chromium-driver``; nothing is downloaded) of this window size."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = next(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n))
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={width},{height}"):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))


def save_screenshot(driver, out: Path, colors: int) -> None:
    """The window as a PNG at ``out``, quantized to ``colors`` colours (0: kept RGB)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(out))
    if colors:
        from gankit.viz import quantize_png

        quantize_png(out, colors)
