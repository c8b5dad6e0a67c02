"""`gankit lab`'s training speed while a page watches, against `gankit train` on the same preset.

Two processes per round, one after the other (never together):

1. ``gankit train PRESET --steps N`` in its own process; its steps/s is the last line of
   metrics.jsonl (``steps_per_s``: steps over the wall time of the loop, which includes the
   logging, sample grid and checkpoint the run writes).
2. ``gankit lab --problem PRESET`` in its own process, watched by this script as the page
   watches it: the server-sent frame stream (``/api/frames``) read and parsed for ``--seconds``
   after pressing play. Its steps/s is the step counter's rise over that window; its frames/s
   the frames received in the same window, each checked to hold a 64 x 64 map of D.

Rounds alternate (train, lab, train, lab, ...); the table gives each round and the medians,
and the ratio of the medians. Loopback traffic only.

    python benchmarks/lab_throughput.py                      # ring8, 2 rounds, one thread each
    python benchmarks/lab_throughput.py --rounds 3 --seconds 30 --steps 1000
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def train_rate(preset: str, steps: int, threads: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        subprocess.run([sys.executable, "-m", "gankit", "train", preset, "--steps", str(steps), "--out", str(out),
                        "--set", f"train.threads={threads}"],
                       env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        return float([r for r in rows if "steps_per_s" in r][-1]["steps_per_s"])


def _call(port: int, token: str, method: str, path: str, body: dict | None = None) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, f"{path}?token={token}", body=json.dumps(body) if body else None,
                 headers={"Content-Type": "application/json"})
    answer = json.loads(conn.getresponse().read())
    conn.close()
    return answer


def lab_rate(preset: str, seconds: float, threads: int, warmup: float = 5.0) -> tuple[float, float]:
    """(steps/s, frames/s) of a lab process while this process reads its frame stream."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([sys.executable, "-m", "gankit", "lab", "--problem", preset,
                                 "--set", f"train.threads={threads}"], env=ENV, cwd=tmp,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/\?token=([\w-]+)", proc.stdout.readline().strip())
            port, token = int(m.group(1)), m.group(2)
            frames: list[float] = []
            stop = threading.Event()

            def watch() -> None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("GET", f"/api/frames?token={token}")
                r = conn.getresponse()
                while not stop.is_set():
                    line = r.readline()
                    if line.startswith(b"data: "):
                        frame = json.loads(line[6:])
                        assert frame["grid"] == 64 and len(base64.b64decode(frame["d"])) == 64 * 64
                        frames.append(time.monotonic())
                conn.close()

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            _call(port, token, "POST", "/api/control", {"action": "play"})
            time.sleep(warmup)
            t0, s0 = time.monotonic(), _call(port, token, "GET", "/api/state")["step"]
            time.sleep(seconds)
            t1, s1 = time.monotonic(), _call(port, token, "GET", "/api/state")["step"]
            stop.set()
            shown = sum(t0 <= t <= t1 for t in frames)
            return (s1 - s0) / (t1 - t0), shown / (t1 - t0)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="ring8")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=600, help="steps of each `gankit train` round")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds of each lab round")
    parser.add_argument("--threads", type=int, default=1,
                        help="train.threads for both (default 1: two spinning threads crawl on a busy machine)")
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    print(f"# {args.preset}, train.threads={args.threads}, {os.cpu_count()} CPUs ({cpu}), {time.strftime('%Y-%m-%d')}")
    print("| round | `gankit train` steps/s | lab steps/s | lab frames/s (64x64 D) |")
    print("|---|---|---|---|")
    trains, labs, fps = [], [], []
    for r in range(args.rounds):
        trains.append(train_rate(args.preset, args.steps, args.threads))
        rate, frames = lab_rate(args.preset, args.seconds, args.threads)
        labs.append(rate)
        fps.append(frames)
        print(f"| {r + 1} | {trains[-1]:.1f} | {labs[-1]:.1f} | {fps[-1]:.1f} |", flush=True)
    t, lab, f = statistics.median(trains), statistics.median(labs), statistics.median(fps)
    print(f"| median | {t:.1f} | {lab:.1f} ({100 * lab / t:.0f}% of train) | {f:.1f} |")


if __name__ == "__main__":
    main()
