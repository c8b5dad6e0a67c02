import os
import shutil
import time

import pytest
import torch

# model.memory_format=auto measures both layouts once per machine (gankit.tuning); the suite pins the
# choice instead (subprocesses inherit it), so no test pays for a measurement or depends on one.
os.environ.setdefault("GANKIT_MEMORY_FORMAT", "channels_last")


@pytest.fixture(autouse=True)
def _one_thread():
    # The suite runs as two pytest-xdist workers on two cores: one torch thread each.
    torch.set_num_threads(1)
    yield


CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
DRIVER = shutil.which("chromedriver")
# For the browser tests' modules: ``pytestmark = needs_chromium``. Nothing is downloaded at run time:
# Debian's browser and driver (``apt-get install chromium chromium-driver``; ``.ci/run`` installs them).
needs_chromium = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                    reason="no Chromium + chromedriver found (apt-get install chromium chromium-driver)")


@pytest.fixture(scope="session")
def open_chromium():
    """A function that starts headless Chromium (selenium, the system's chromedriver) at a window size,
    with the browser console logged; every browser it started is closed at the end of the session."""
    drivers = []

    def start(window: str = "1200,900"):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    f"--window-size={window}"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        drivers.append(webdriver.Chrome(options=options, service=Service(executable_path=DRIVER)))
        return drivers[-1]

    yield start
    for driver in drivers:
        driver.quit()


@pytest.fixture(scope="session")
def photo_run(tmp_path_factory):
    """A 3-step DCGAN on 32x32 crops of scikit-learn's sample photos, prepared by ``gankit prep``
    (colour, unconditional): what the image tests sample and evaluate."""
    from gankit.cli import main
    from gankit.photos import write_photo_crops
    from gankit.prep import prep_folder

    root = tmp_path_factory.mktemp("photos")
    write_photo_crops(root / "photos", num=16, size=32, seed=0)
    prep_folder(root / "photos", root / "photos.npz", 32)
    run = root / "run"
    assert main(["train", "cifar10-dcgan", "--steps", "3", "--out", str(run), "--set", "data.name=npz",
                 f"data.path={root / 'photos.npz'}", "model.width=8", "data.batch_size=8"]) == 0
    return run


def wait_for(condition, timeout: float = 60.0, what: str = "condition", poll: float = 0.05):
    """``condition()``'s first truthy value, polled every ``poll`` s; an AssertionError naming ``what`` after
    ``timeout`` s (the lab's tests wait on a live server and a browser)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")
