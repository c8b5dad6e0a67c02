"""Screenshot a run's report.html in headless Chromium (the picture in README.md and docs/figures/report.png).

    python scripts/report_screenshot.py RUN OUT.png [--width 1050] [--max-height 6000] [--colors 128]

Needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver) and
selenium (the test extra); nothing is downloaded. Writes RUN/report.html first.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from headless import chromium, save_screenshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1050)
    parser.add_argument("--max-height", type=int, default=6000)
    parser.add_argument("--colors", type=int, default=128, help="quantize to this many colours (0: keep RGB)")
    args = parser.parse_args()

    from gankit.report import write_report

    page = write_report(args.run)
    driver = chromium(args.width, 900)
    try:
        driver.get(page.resolve().as_uri())
        height = min(int(driver.execute_script("return document.documentElement.scrollHeight")), args.max_height)
        driver.set_window_size(args.width, height)
        save_screenshot(driver, args.out, args.colors)
    finally:
        driver.quit()
    print(f"wrote {args.out} ({args.width}x{height})")


if __name__ == "__main__":
    main()
