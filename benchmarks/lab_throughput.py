"""`gankit lab`'s training speed while a page watches, against `gankit train` on the same preset.

Two processes per round, one after the other (never together), each measured over the same
kind of window after a warm-up, so start-up, k-means and the final checkpoint are left out:

1. ``gankit train PRESET`` (``log.every=10``): the step is read from its metrics.jsonl.
2. ``gankit lab --problem PRESET``, watched by this script as the page watches it: the
   server-sent frame stream (``/api/frames``) read and parsed, each frame checked to hold a
   64 x 64 map of D; play pressed; the step read from ``/api/state``; frames/s counted.

For each: steps per wall-clock second, and steps per CPU second of the whole process (user +
system time from /proc: the lab's server, frame-drawing thread and training thread together).
The machine this was written on is shared, and its load swings within a minute; the CPU-second
rate, and the ratio within a round, are steadier than wall-clock rates across rounds.

    python benchmarks/lab_throughput.py                      # ring8, 3 rounds, one thread each
    python benchmarks/lab_throughput.py --rounds 5 --seconds 20
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(proc: subprocess.Popen, read_step, seconds: float, warmup: float) -> tuple[float, float, float, float]:
    """(steps/s, steps per CPU s, t0, t1) of ``proc`` over ``seconds`` after ``warmup``."""
    time.sleep(warmup)
    t0, c0, s0 = time.monotonic(), cpu_seconds(proc.pid), read_step()
    time.sleep(seconds)
    t1, c1, s1 = time.monotonic(), cpu_seconds(proc.pid), read_step()
    return (s1 - s0) / (t1 - t0), (s1 - s0) / max(c1 - c0, 1e-9), t0, t1


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()


def train_rate(preset: str, seconds: float, threads: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        metrics = Path(tmp) / "run" / "metrics.jsonl"
        proc = subprocess.Popen([sys.executable, "-m", "gankit", "train", preset, "--steps", "1000000",
                                 "--out", str(Path(tmp) / "run"), "--set", f"train.threads={threads}", "log.every=10"],
                                env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not (metrics.exists() and metrics.read_text().strip()):
                time.sleep(0.1)

            def step() -> int:
                return json.loads(metrics.read_text().strip().splitlines()[-1])["step"]

            wall, cpu, _, _ = measure(proc, step, seconds, warmup=3.0)
            return wall, cpu
        finally:
            stop(proc)


def _call(port: int, token: str, method: str, path: str, body: dict | None = None) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, f"{path}?token={token}", body=json.dumps(body) if body else None,
                 headers={"Content-Type": "application/json"})
    answer = json.loads(conn.getresponse().read())
    conn.close()
    return answer


def lab_rate(preset: str, seconds: float, threads: int) -> tuple[float, float, float]:
    """(steps/s, steps per CPU s, frames/s) of a lab process while this process reads its frame stream."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([sys.executable, "-m", "gankit", "lab", "--problem", preset,
                                 "--set", f"train.threads={threads}"], env=ENV, cwd=tmp,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/\?token=([\w-]+)", proc.stdout.readline().strip())
            port, token = int(m.group(1)), m.group(2)
            frames: list[float] = []
            done = threading.Event()

            def watch() -> None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("GET", f"/api/frames?token={token}")
                r = conn.getresponse()
                while not done.is_set():
                    line = r.readline()
                    if line.startswith(b"data: "):
                        frame = json.loads(line[6:])
                        assert frame["grid"] == 64 and len(base64.b64decode(frame["d"])) == 64 * 64
                        frames.append(time.monotonic())
                conn.close()

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            _call(port, token, "POST", "/api/control", {"action": "play"})
            wall, cpu, t0, t1 = measure(proc, lambda: _call(port, token, "GET", "/api/state")["step"], seconds,
                                        warmup=3.0)
            done.set()
            return wall, cpu, sum(t0 <= t <= t1 for t in frames) / (t1 - t0)
        finally:
            stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="ring8")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds of each process")
    parser.add_argument("--threads", type=int, default=1,
                        help="train.threads for both (default 1: two spinning threads crawl on a busy machine)")
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    print(f"# {args.preset}, train.threads={args.threads}, {os.cpu_count()} CPUs ({cpu}), {time.strftime('%Y-%m-%d')}, "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    print("| round | train steps/s | lab steps/s | ratio | train steps/CPU s | lab steps/CPU s | ratio | lab frames/s |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for r in range(args.rounds):
        train_wall, train_cpu = train_rate(args.preset, args.seconds, args.threads)
        lab_wall, lab_cpu, fps = lab_rate(args.preset, args.seconds, args.threads)
        rows.append((train_wall, lab_wall, lab_wall / train_wall, train_cpu, lab_cpu, lab_cpu / train_cpu, fps))
        print(f"| {r + 1} | " + " | ".join(f"{v:.2f}" if i in (2, 5) else f"{v:.1f}" for i, v in enumerate(rows[-1]))
              + " |", flush=True)
    med = [statistics.median(col) for col in zip(*rows)]
    print("| median | " + " | ".join(f"{v:.2f}" if i in (2, 5) else f"{v:.1f}" for i, v in enumerate(med)) + " |")


if __name__ == "__main__":
    main()
