"""Screenshot `gankit lab` in headless Chromium after N steps (the pictures in docs/figures/lab_*.png).

    python scripts/lab_screenshot.py PROBLEM STEPS OUT.png [--set KEY=VALUE ...] [--manifold] [--walk]
        [--compare KEY=V1,V2]

Starts the lab in this process on 127.0.0.1, opens the page, presses play, pauses after STEPS
steps and saves the page. ``--walk`` then presses "walk Algorithm 1" and saves the page during
its D update, caption showing. Needs Debian's chromium and chromium-driver and selenium (the
test extra); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

from headless import chromium, save_screenshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem")
    parser.add_argument("steps", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE")
    parser.add_argument("--manifold", action="store_true", help="show G's manifold")
    parser.add_argument("--walk", action="store_true", help="catch the slow-motion walk through Algorithm 1")
    parser.add_argument("--compare", metavar="KEY=V1,V2", help="runs side by side, KEY set to each value")
    parser.add_argument("--colors", type=int, default=128, help="quantize to this many colours (0: keep RGB)")
    args = parser.parse_args()

    from selenium.webdriver.common.by import By

    from gankit.config import parse_sets
    from gankit.lab.server import LabServer
    from gankit.lab.session import Session

    session = Session(args.problem, parse_sets(args.set))
    server = LabServer(session)
    url = server.bind()
    threading.Thread(target=server.serve, daemon=True).start()
    driver = chromium(1300, 1640)
    try:
        driver.get(url)
        time.sleep(2)
        if args.manifold:
            driver.find_element(By.ID, "show-manifold").click()
        if args.compare:
            key, _, values = args.compare.partition("=")
            driver.execute_script("document.getElementById('compare-key').value = arguments[0];"
                                  "document.getElementById('compare-values').value = arguments[1];", key, values)
            driver.find_element(By.ID, "compare").click()
            while len(server.runs.items) < 2:
                time.sleep(0.1)
            time.sleep(1)
        driver.find_element(By.ID, "play").click()
        while session.state()["step"] < args.steps:
            time.sleep(0.1)
        driver.find_element(By.ID, "play").click()
        time.sleep(2)
        if args.walk:
            driver.find_element(By.ID, "walk").click()
            time.sleep(3.2)  # the first D update done, its caption still up
        save_screenshot(driver, args.out, args.colors)
    finally:
        driver.quit()
        server.stop()
    print(f"wrote {args.out} at step {session.state()['step']}")


if __name__ == "__main__":
    main()
