import json
import math

import pytest
import torch

from gankit.theory import DEMOS
from gankit.theory._common import jsonable

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_registry_names_and_descriptions():
    assert list(DEMOS) == ["toy1d", "optimal-d", "bilinear", "saddle", "gen-costs", "mode-collapse", "divergences",
                           "paper", "coverage", "likelihood"]
    for run, description in DEMOS.values():
        assert callable(run)
        assert isinstance(description, str) and description and "\n" not in description


def test_jsonable_makes_strict_json():
    out = jsonable({"t": torch.tensor([1.0, 2.0]), "s": torch.tensor(3.0, dtype=torch.float64), "inf": math.inf, 1: (2, 3)})
    assert out == {"t": [1.0, 2.0], "s": 3.0, "inf": "inf", "1": [2, 3]}
    json.loads(json.dumps(out, allow_nan=False))


def _check_run(name, tmp_path):
    out = tmp_path / "nested" / name
    numbers = DEMOS[name][0](out, 0)
    pngs = sorted(out.glob("*.png"))
    assert pngs
    for png in pngs:
        assert png.read_bytes()[:8] == PNG_MAGIC
    assert json.loads((out / "numbers.json").read_text()) == numbers
    return numbers


def test_bilinear_demo_writes_its_files(tmp_path):
    n = _check_run("bilinear", tmp_path)
    assert n["simultaneous"]["measured_rate_per_step"] == pytest.approx(n["simultaneous"]["closed_form_rate"], rel=1e-12)


def test_saddle_demo_writes_its_files(tmp_path):
    n = _check_run("saddle", tmp_path)
    assert n["measured_rate_per_step"] == pytest.approx(n["closed_form_rate"], rel=1e-12)


def test_gen_costs_demo_writes_its_files(tmp_path):
    n = _check_run("gen-costs", tmp_path)
    assert n["dcost_dlogit"]["minimax"][2] == pytest.approx(-0.5, rel=1e-12)  # at D = 1/2


@pytest.mark.slow
@pytest.mark.parametrize("name", ["toy1d", "optimal-d", "divergences", "mode-collapse"])
def test_slow_demos_write_their_files(name, tmp_path):
    _check_run(name, tmp_path)
