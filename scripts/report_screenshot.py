"""Screenshot a run's report.html in headless Chromium (the picture in README.md and docs/figures/report.png).

    python scripts/report_screenshot.py RUN OUT.png [--width 1050] [--max-height 6000] [--colors 128]

Needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver) and
selenium (the test extra); nothing is downloaded. Writes RUN/report.html first.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1050)
    parser.add_argument("--max-height", type=int, default=6000)
    parser.add_argument("--colors", type=int, default=128, help="quantize to this many colours (0: keep RGB)")
    args = parser.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from gankit.report import write_report

    page = write_report(args.run)
    chromium = next(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n))
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={args.width},900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))
    try:
        driver.get(page.resolve().as_uri())
        height = min(int(driver.execute_script("return document.documentElement.scrollHeight")), args.max_height)
        driver.set_window_size(args.width, height)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(args.out))
    finally:
        driver.quit()
    if args.colors:
        from gankit.viz import quantize_png

        quantize_png(args.out, args.colors)
    print(f"wrote {args.out} ({args.width}x{height})")


if __name__ == "__main__":
    main()
