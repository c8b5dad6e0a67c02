"""The lab's page in a real browser: headless Chromium through selenium and Debian's chromedriver.

Nothing is downloaded at run time (``apt-get install chromium chromium-driver``); without them
the test skips with one line saying so. The server runs in this process on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest

from gankit.lab.server import LabServer
from gankit.lab.session import Session

from conftest import needs_chromium, wait_for

pytestmark = needs_chromium

# A fingerprint of the heat-map canvas: how many pixels are not white, and a sum over a sparse sample.
CANVAS_SCRIPT = """
const c = document.getElementById('view'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
let coloured = 0, sum = 0;
for (let i = 0; i < d.length; i += 4) {
  if (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250) coloured++;
  if (i % 97 === 0) sum += d[i] + 3 * d[i + 1] + 7 * d[i + 2];
}
return [coloured, sum, c.width * c.height];
"""


@pytest.fixture(scope="module")
def lab():
    session = Session("ring8")
    server = LabServer(session, "127.0.0.1", 0)
    url = server.bind()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    yield url, session
    server.stop()
    thread.join(15)


@pytest.fixture(scope="module")
def browser(open_chromium):
    return open_chromium("1300,1000")


def _state(url: str) -> dict:
    base, token = url.split("/?token=")
    with urllib.request.urlopen(f"{base}/api/state?token={token}", timeout=30) as r:
        return json.loads(r.read())


def _open(browser, url: str) -> None:
    """Load the page afresh and wait for it: under pytest-xdist a test may be the first of its module that
    its worker runs, so none may rely on a page an earlier test opened."""
    from selenium.webdriver.common.by import By

    browser.get("about:blank")
    browser.get(url)
    wait_for(lambda: browser.find_elements(By.ID, "step") and browser.find_element(By.ID, "step").text != "", 30,
          "the page")


def _choose(driver, key: str, value: str) -> None:
    """Set the control for ``key`` as a user would, and fire its change event."""
    driver.execute_script("const el = document.querySelector(`[data-key='${arguments[0]}']`);"
                          "el.value = arguments[1]; el.dispatchEvent(new Event('change'));", key, value)


def test_play_ring8_watch_the_heat_map_and_change_k_and_the_cost_mid_run(lab, browser):
    from selenium.webdriver.common.by import By

    url, _ = lab
    browser.get(url)
    wait_for(lambda: browser.find_element(By.ID, "step").text == "0", 30, "the page")
    assert browser.find_element(By.ID, "problem").get_attribute("value") == "ring8"
    browser.find_element(By.ID, "play").click()
    wait_for(lambda: int(browser.find_element(By.ID, "step").text) > 50, 120, "the step counter to move")
    _choose(browser, "train.k", "2")
    _choose(browser, "train.g_cost", "minimax")
    wait_for(lambda: (_state(url)["config"]["train"]["k"], _state(url)["config"]["train"]["g_cost"]) == (2, "minimax"),
          30, "k = 2 and the minimax cost in /api/state")
    state = _state(url)
    assert state["playing"] and state["overrides"] == {"train.k": 2, "train.g_cost": "minimax"}
    wait_for(lambda: int(browser.find_element(By.ID, "step").text) > 200, 180, "the step counter to pass 200")
    first = browser.execute_script(CANVAS_SCRIPT)
    coloured, _, total = first
    assert coloured > 0.5 * total  # the heat map fills the canvas
    wait_for(lambda: browser.execute_script(CANVAS_SCRIPT)[1] != first[1], 30, "the heat map to change")
    assert "k=2" in browser.current_url.split("#")[1] or "train.k=2" in browser.current_url
    assert _state(url)["step"] > 200
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    browser.find_element(By.ID, "play").click()  # pause
    wait_for(lambda: not _state(url)["playing"], 30, "the pause")


def test_a_link_with_settings_in_its_hash_replays_them_from_step_0(lab, browser):
    from selenium.webdriver.common.by import By

    url, _ = lab
    browser.get(url + "#problem=toy1d&seed=2&train.k=3&train.g_cost=minimax")
    wait_for(lambda: _state(url)["problem"] == "toy1d", 30, "the link's problem")
    state = _state(url)
    assert state["overrides"] == {"seed": 2, "train.k": 3, "train.g_cost": "minimax"}
    assert state["config"]["seed"] == 2 and state["step"] == 0 and not state["playing"]
    wait_for(lambda: browser.find_element(By.ID, "problem").get_attribute("value") == "toy1d", 10, "the page")
    link = browser.find_element(By.ID, "link").get_attribute("href")
    assert "train.k=3" in link and "seed=2" in link and "problem=toy1d" in link


def test_runs_side_by_side(lab, browser):
    from selenium.webdriver.common.by import By

    url, _ = lab
    _open(browser, url)
    browser.find_element(By.ID, "compare").click()  # train.g_cost: minimax, maximum_likelihood beside
    wait_for(lambda: _state(url)["runs"] == 3, 60, "three runs")
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#runs figcaption")) == 2 and all(
        "step" in c.text for c in browser.find_elements(By.CSS_SELECTOR, "#runs figcaption")), 30, "their views")
    captions = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#runs figcaption")]
    assert captions[0].startswith("train.g_cost = minimax") and captions[1].startswith("train.g_cost = maximum_lik")
    browser.find_element(By.ID, "uncompare").click()
    wait_for(lambda: _state(url)["runs"] == 1, 30, "one run again")
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_upload_a_csv_of_points(lab, browser, tmp_path):
    from selenium.webdriver.common.by import By

    url, _ = lab
    _open(browser, url)
    csv = tmp_path / "points.csv"
    csv.write_text("x,y\n" + "".join(f"{i % 7 / 7:.3f},{(i * 3) % 11 / 11:.3f}\n" for i in range(50)))
    browser.find_element(By.ID, "upload").send_keys(str(csv))
    wait_for(lambda: _state(url)["config"]["data"]["name"] == "npz", 30, "the uploaded points")
    state = _state(url)
    assert state["step"] == 0 and state["config"]["data"]["batch_size"] == 50
    wait_for(lambda: "press play" in browser.find_element(By.ID, "status").text, 10, "the page to say so")
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
