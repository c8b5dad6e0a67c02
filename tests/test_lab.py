"""gankit lab: the session (live settings, single updates, exact replay), the views, and the server's guard.

All traffic goes to 127.0.0.1. The players are small (ring8 with 32-unit MLPs) so that the whole
file runs in seconds.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from conftest import wait_for
from gankit.checkpoint import load_weights
from gankit.errors import GankitError
from gankit.lab.server import LabServer
from gankit.lab.session import Session
from gankit.lab.views import _kde_log_pdf, binned_kde

SMALL = {"model.width": 32, "model.depth": 2, "model.clusters": 0, "train.ema": 0.0, "data.batch_size": 64}


class Client:
    def __init__(self, url: str):
        m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/\?token=([\w-]+)", url)
        assert m, url
        self.port, self.token = int(m.group(1)), m.group(2)

    def call(self, method: str, path: str, body=None, *, token: str | None = None, host: str | None = None,
             raw: bytes | None = None) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        token = self.token if token is None else token
        sep = "&" if "?" in path else "?"
        url = path + (f"{sep}token={token}" if token else "")
        headers = {"Host": host or f"127.0.0.1:{self.port}", "Content-Type": "application/json"}
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        try:
            conn.request(method, url, body=data, headers=headers)
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, body=None, **kw) -> tuple[int, dict]:
        status, _, data = self.call(method, path, body, **kw)
        return status, json.loads(data)


@pytest.fixture(scope="module")
def lab():
    session = Session("ring8", SMALL)
    server = LabServer(session, "127.0.0.1", 0)
    client = Client(server.bind())
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    wait_for(lambda: _alive(client), 30, "the server")
    yield client, session
    server.stop()
    thread.join(15)
    assert not thread.is_alive()


def _alive(client: Client) -> bool:
    try:
        return client.call("GET", "/api/state")[0] == 200
    except OSError:
        return False


# ---- the guard -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/api/state", "/static/lab.js", "/api/frame"])
def test_no_or_wrong_token_is_403(lab, path):
    client, _ = lab
    assert client.call("GET", path, token="")[0] == 403
    wrong = ("y" if client.token[0] == "x" else "x") + client.token[1:]  # one character off
    assert client.call("GET", path, token=wrong)[0] == 403
    assert client.call("GET", path)[0] == 200


def test_foreign_host_is_403_and_loopback_names_pass(lab):
    client, _ = lab
    assert client.call("GET", "/api/state", host=f"evil.example:{client.port}")[0] == 403
    assert client.call("GET", "/api/state", host="127.0.0.1:1")[0] == 403  # another port: another server
    assert client.call("GET", "/api/state", host=f"localhost:{client.port}")[0] == 200
    status, _, _ = client.call("POST", "/api/control", {"action": "pause"}, host="rebound.example")
    assert status == 403


def test_page_headers_csp_and_no_cors(lab):
    client, _ = lab
    status, headers, body = client.call("GET", "/")
    assert status == 200 and headers["content-security-policy"] == "default-src 'self'"
    assert not any(k.startswith("access-control-") for k in headers)
    assert f"lab.js?token={client.token}" in body.decode()
    assert b"<script>" not in body and b"style=" not in body  # nothing inline: the CSP would block it
    _, headers, _ = client.call("GET", "/api/state")
    assert headers["content-security-policy"] == "default-src 'self'"


def test_bad_values_are_400_naming_the_field_and_training_goes_on(lab):
    client, session = lab
    assert client.json("POST", "/api/control", {"action": "play"})[0] == 200
    start = wait_for(lambda: client.json("GET", "/api/state")[1]["step"] >= 3, what="steps")
    cases = [({"set": {"train.k": "abc"}}, "train.k"), ({"set": {"train.k": 0}}, "train.k"),
             ({"set": {"train.lr_g": -1}}, "train.lr_g"), ({"set": {"train.kk": 2}}, "train.kk"),
             ({"set": {"train.k": [1]}}, "set.train.k"), ({"set": "k=2"}, "set"), ({"action": "jump"}, "action"),
             ({"speed": 2}, "speed"), ({"set": {"data.name": "mnist5k"}}, "data.name")]
    for body, field in cases:
        status, answer = client.json("POST", "/api/control", body)
        assert status == 400, body
        assert field in answer["error"].split(":")[0] + answer["error"] and "\n" not in answer["error"], answer
    status, _, data = client.call("POST", "/api/control", raw=b"{not json")
    assert status == 400 and json.loads(data)["error"].startswith("body")
    status, answer = client.json("POST", "/api/export", {"out": 3})
    assert status == 400 and answer["error"].startswith("out")
    state = client.json("GET", "/api/state")[1]
    assert state["playing"] and state["config"]["train"]["k"] == 1
    now = state["step"]
    wait_for(lambda: client.json("GET", "/api/state")[1]["step"] > now, what="training to go on")
    assert now >= start
    client.json("POST", "/api/control", {"action": "pause"})


def test_200_concurrent_requests_are_answered(lab):
    client, _ = lab
    client.json("POST", "/api/control", {"action": "play"})
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=200) as pool:
        statuses = list(pool.map(lambda i: client.call("GET", "/api/state" if i % 2 else "/api/frame")[0],
                                 range(200)))
    elapsed = time.monotonic() - t0
    assert set(statuses) <= {200, 503}, set(statuses)  # 503: past the bound on connections served at once
    assert statuses.count(200) >= 20 and elapsed < 60, (statuses.count(200), elapsed)
    step = client.json("GET", "/api/state")[1]["step"]
    wait_for(lambda: client.json("GET", "/api/state")[1]["step"] > step, what="training after the burst")
    client.json("POST", "/api/control", {"action": "pause"})


def test_frames_stream_and_hold_the_views(lab):
    client, _ = lab
    client.call("GET", "/api/frame")  # asking starts the frames
    frame = wait_for(lambda: json.loads(client.call("GET", "/api/frame")[2]), 30, "a frame")
    assert frame["dim"] == 2 and frame["grid"] == 64
    assert len(frame["real"]) == len(frame["fake"]) == len(frame["arrows"]) == 256
    for key in ("d", "d_star"):
        import base64

        assert len(base64.b64decode(frame[key])) == 64 * 64
    assert 0 <= frame["now"]["jsd"] <= math.log(2) and frame["now"]["total"] == 8
    conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=30)
    conn.request("GET", f"/api/frames?token={client.token}", headers={"Host": f"127.0.0.1:{client.port}"})
    r = conn.getresponse()
    assert r.status == 200 and r.getheader("content-type").startswith("text/event-stream")
    assert r.readline().startswith(b"data: {")
    conn.close()


def test_runs_side_by_side_differ_in_one_setting_and_step_together(lab):
    client, _ = lab
    status, answer = client.json("POST", "/api/compare", {"key": "train.g_cost", "values": ["minimax"]})
    assert status == 200 and answer["runs"] == 2
    main, beside = client.json("GET", "/api/state")[1], client.json("GET", "/api/state?run=1")[1]
    assert main["runs"] == 2 and main["compare"] == "train.g_cost"
    assert beside["config"]["train"]["g_cost"] == "minimax"
    assert {**beside["config"], "train": {**beside["config"]["train"], "g_cost": main["config"]["train"]["g_cost"]}} \
        == main["config"]
    for run in ("", "?run=1"):
        assert client.json("POST", f"/api/control{run}", {"action": "play"})[0] == 200
    wait_for(lambda: client.json("GET", "/api/state?run=1")[1]["step"] > 20, what="the run beside")
    for run in ("", "?run=1"):
        client.json("POST", f"/api/control{run}", {"action": "pause"})
    steps = [client.json("GET", f"/api/state{run}")[1]["step"] for run in ("", "?run=1")]
    assert abs(steps[0] - steps[1]) <= 1, steps  # neither ran ahead of the other
    assert client.json("POST", "/api/control?run=1", {"action": "play"})[0] == 200
    time.sleep(0.5)  # the main run is paused: the run beside waits for it
    assert client.json("GET", "/api/state?run=1")[1]["step"] <= steps[0] + 1
    status, answer = client.json("POST", "/api/compare", {"key": "train.k", "values": [0]})
    assert status == 400 and answer["error"].startswith("train.k")
    assert client.json("GET", "/api/state")[1]["runs"] == 2  # a bad comparison changes nothing
    assert client.json("POST", "/api/compare", {"values": []})[1]["runs"] == 1
    status, answer = client.json("GET", "/api/state?run=1")
    assert status == 400 and answer["error"].startswith("run")


# ---- the session -----------------------------------------------------------------------------
def _params(module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_step_d_and_step_g_move_one_player_by_one_update():
    session = Session("ring8", SMALL)
    try:
        t = session.trainer
        G0, D0 = _params(t.G), _params(t.D)
        assert session.control("step_d")["updates"] == {"d": 1, "g": 0}
        G1, D1 = _params(t.G), _params(t.D)
        assert _same(G0, G1) and not _same(D0, D1)
        assert {int(s["step"]) for s in t.opt_D.state.values()} == {1} and not t.opt_G.state  # one Adam step
        assert session.control("step_g")["updates"] == {"d": 1, "g": 1}
        G2, D2 = _params(t.G), _params(t.D)
        assert _same(D1, D2) and not _same(G1, G2)
        assert {int(s["step"]) for s in t.opt_G.state.values()} == {1}
        assert {int(s["step"]) for s in t.opt_D.state.values()} == {1}
        assert t.step == 0  # single updates are not outer iterations
    finally:
        session.close()


def _run_and_export(out: Path, overrides: dict, watch: bool) -> dict[str, dict]:
    session = Session("ring8", overrides)
    try:
        session.control("play")
        while session.state()["playing"] or session.state()["step"] < overrides["train.steps"]:
            if watch:
                session.frame()  # a watched run draws frames between its steps
            time.sleep(0.02)
        session.export(str(out))
    finally:
        session.close()
    last = out / "checkpoints" / "last"
    return {name: load_weights(last / f"{name}.safetensors") for name in ("generator", "discriminator")}


def test_same_settings_and_seed_replay_bit_identically(tmp_path):
    """The URL hash holds the problem, the settings and the seed: the same ones train the same weights."""
    settings = {**SMALL, "seed": 3, "train.k": 2, "train.g_cost": "minimax", "train.steps": 25}
    a = _run_and_export(tmp_path / "a", settings, watch=True)
    b = _run_and_export(tmp_path / "b", settings, watch=False)
    c = _run_and_export(tmp_path / "c", {**settings, "seed": 4}, watch=False)
    for player in a:
        assert a[player].keys() == b[player].keys()
        for key in a[player]:
            assert torch.equal(a[player][key], b[player][key]), (player, key)
    assert not all(torch.equal(a["generator"][k], c["generator"][k]) for k in a["generator"])
    assert json.loads((tmp_path / "a" / "config.json").read_text())["seed"] == 3


def test_live_settings_and_restarts():
    session = Session("ring8", SMALL)
    try:
        session.control("play")
        wait_for(lambda: session.state()["step"] >= 5, what="steps")
        answer = session.control(None, {"train.k": 3, "train.g_cost": "minimax", "train.lr_d": 1e-3})
        assert answer["reset"] is None and answer["step"] >= 5
        state = session.state()
        assert state["config"]["train"]["k"] == 3 and state["config"]["train"]["g_cost"] == "minimax"
        assert session.trainer.objective.g_loss.__name__.startswith("minimax")
        assert session.trainer.cfg.train.lr_d == 1e-3
        step0, d0, g0 = answer["step"], answer["updates"]["d"], answer["updates"]["g"]
        wait_for(lambda: session.state()["step"] > step0 + 2, what="training with k = 3")
        state = session.state()  # (step and updates are published together)
        assert state["updates"]["d"] - d0 == 3 * (state["step"] - step0)
        assert state["updates"]["g"] - g0 == state["step"] - step0
        answer = session.control(None, {"model.width": 16})
        assert answer["reset"].startswith("model.width") and answer["step"] == 0
        assert session.trainer.cfg.model.width == 16 and session.state()["overrides"]["train.k"] == 3
        answer = session.control("pause", {"problem": "toy1d"})
        assert answer["reset"].startswith("problem") and session.state()["config"]["preset"] == "toy1d"
        assert session.state()["overrides"] == {}
        with pytest.raises(GankitError, match="^problem"):
            session.control(None, {"problem": "mnist5k"})
    finally:
        session.close()


def test_a_failing_step_pauses_the_run_and_the_thread_lives_on(monkeypatch):
    session = Session("toy1d")
    try:
        def broken():
            raise RuntimeError("boom")

        monkeypatch.setattr(session.trainer, "train_step", broken)
        session.control("play")
        wait_for(lambda: session.state()["error"], 30, "the error")
        assert "boom" in session.state()["error"] and not session.state()["playing"]
        assert session.control("step_d")["updates"]["d"] == 1  # the thread still answers
    finally:
        session.close()


def test_export_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("mine")
    session = Session("toy1d")
    try:
        with pytest.raises(GankitError, match="^out: .* not an empty folder"):
            session.export(str(tmp_path / "run"))
        assert (tmp_path / "run" / "keep.txt").read_text() == "mine"
    finally:
        session.close()


def test_drawn_points_become_the_data_and_travel_with_the_export(tmp_path):
    from gankit.runs import generate, load_run

    gen = torch.Generator().manual_seed(0)
    points = torch.cat([torch.randn(40, 2, generator=gen) * 0.05 + torch.tensor([-1.0, 0.0]),
                        torch.randn(40, 2, generator=gen) * 0.05 + torch.tensor([1.0, 0.5])])
    session = Session("ring8", SMALL)
    try:
        answer = session.use_data(points.tolist())
        assert answer["reset"].startswith("data.") and answer["step"] == 0
        cfg = session.state()["config"]
        assert cfg["data"]["name"] == "npz" and cfg["data"]["batch_size"] == 64
        torch.testing.assert_close(session.trainer.data.x, points, rtol=0, atol=1e-7)
        session.control("step_d")
        session.control("step_g")
        session.export(str(tmp_path / "run"))
        run = load_run(tmp_path / "run")
        assert run.cfg.data.path == str((tmp_path / "run" / "data.npz").resolve())
        assert generate(run.G, 5).shape == (5, 2)
        folder = session._folder
        assert folder.is_dir()
        with pytest.raises(GankitError, match="^points"):
            session.use_data([[0.0, 1.0]] * 3)
        with pytest.raises(GankitError, match="^points"):
            session.use_data([[0.0, float("nan")]] * 10)
    finally:
        session.close()
    assert not folder.exists()


def test_bad_data_bodies_are_400(lab):
    client, _ = lab
    for body, field in [({"points": "x"}, "points"), ({"npz_base64": "!!"}, "npz_base64"),
                        ({"npz_base64": "aGVsbG8="}, ""), ({"points": [], "npz_base64": ""}, "body"),
                        ({"csv": "1,2"}, "csv")]:
        status, answer = client.json("POST", "/api/data", body)
        assert status == 400 and answer["error"].startswith(field) and "\n" not in answer["error"], answer
    assert client.json("GET", "/api/state")[1]["config"]["data"]["name"] == "ring8"


# ---- the views -------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [1, 2])
def test_binned_kde_matches_the_exact_kde(dim):
    gen = torch.Generator().manual_seed(0)
    x = 0.7 * torch.randn(3000, dim, generator=gen)
    axes = [torch.linspace(-4, 4, 129 if dim == 1 else 64, dtype=torch.float64)] * dim
    if dim == 1:
        points = axes[0][:, None]
    else:
        ys, xs = torch.meshgrid(axes[1], axes[0], indexing="ij")
        points = torch.stack([xs.reshape(-1), ys.reshape(-1)], 1)
    h = 2 * float(axes[0][1] - axes[0][0])
    exact = _kde_log_pdf(points, x, h).exp()
    torch.testing.assert_close(binned_kde(x, axes, h), exact, atol=0.02 * float(exact.max()), rtol=0.0)


def test_view_of_a_generator_that_draws_the_data():
    """D* = 1/2 and JSD = 0 (up to the KDE's noise) when G draws from p_data; near log 2 when far from it."""
    from gankit.lab.views import View
    from gankit.lab.problems import resolve
    from gankit.train import Trainer

    trainer = Trainer(resolve("gauss1d", {}))
    view = View(trainer)

    class Copy(torch.nn.Module):  # G(z) = mean + sd z: exactly the data's distribution
        z_dim = 1

        def __init__(self, shift):
            super().__init__()
            self.shift = torch.nn.Parameter(torch.tensor(shift))

        def forward(self, z):
            return 5.0 + z + self.shift

    near = view.frame(Copy(0.0), trainer.D, trainer.objective)
    far = view.frame(Copy(-12.0), trainer.D, trainer.objective)
    assert near["now"]["jsd"] == pytest.approx(0.0, abs=0.01)
    assert far["now"]["jsd"] == pytest.approx(math.log(2), abs=0.01)
    d_star = torch.tensor(near["d_star"])
    dense = torch.tensor(near["p_data"]) > 0.1 * max(near["p_data"])
    torch.testing.assert_close(d_star[dense], torch.full_like(d_star[dense], 0.5), atol=0.08, rtol=0.0)


# ---- the command ---------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_prints_the_url_first_and_stops_on_ctrl_c():
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gankit", "lab", "--problem", "toy1d"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = proc.stdout.readline().strip()
        client = Client(url)
        assert client.json("GET", "/api/state")[1]["config"]["preset"] == "toy1d"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        assert "stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
