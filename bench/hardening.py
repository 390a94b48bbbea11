"""Hardening benchmarks, bounded and on loopback only.

Run: ``.venv/bin/python bench/hardening.py load`` and ``.venv/bin/python bench/hardening.py kill``.

- ``load``: a real ``hinge serve`` with ``--sets`` live sets (default 50), each fed by two sources (back and hip,
  one WebSocket each, 0.1 s messages with sequence numbers in real time, as the phone page sends them), of which
  ``--flooders`` (default 20) send their stream as fast as they can in 5-sample messages instead. Meanwhile a
  prober in its own process asks for pages (``/``, ``/live``, a set's ``/api/live/{id}``) every 0.25 s.
  Reported: page answer time (median, 99th percentile, max), samples acknowledged, and samples acknowledged but
  missing from the set's file (must be 0). Each set is checked against its file at the end.
- ``kill``: ``hinge record --virtual clean`` is killed with SIGKILL at a random moment, ``--runs`` times; the loss
  is the host time of the kill minus the newest sample in the file (samples are stamped in host time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from websockets.asyncio.client import connect

from hinge.analysis.recording_format import read_recording
from hinge.analysis.simulate import simulate_preset

SENSORS = ("back", "hip")
FLOOD_SAMPLES = 5
MESSAGE_S = 0.1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "hinge", "serve", "--port", str(port), "--data-dir",
                                str(data_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "HINGE_DEMO_DIR": "none"})
    url = f"http://127.0.0.1:{port}/"
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return process, url
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("hinge serve did not start")


# -------------------------------------------------------------------------------------------------- load


async def source(url: str, set_id: str, sensor: str, stream, *, flood: bool, stop_at: float, acked: dict) -> None:
    """One sender: real-time 0.1 s messages, or (flood) 5-sample messages as fast as the socket takes them."""
    shift = time.time() - float(stream.time_s[0])
    time_s = stream.time_s + shift
    hello = {"type": "hello", "protocol": "hinge-live/1", "session_id": set_id, "source_id": f"{set_id}-{sensor}",
             "metadata": {"source": "bench", f"{sensor}_device": f"bench-{sensor}"}}
    sizes: dict[int, int] = {}
    async with connect(url) as ws:
        await ws.send(json.dumps(hello))

        async def read_acks() -> None:
            async for text in ws:
                message = json.loads(text)
                if message.get("type") == "ack":
                    acked[(set_id, sensor)] = acked.get((set_id, sensor), 0) + sizes.pop(message["seq"])

        reader = asyncio.create_task(read_acks())
        begin, seq = 0, 0
        while begin < time_s.size and time.time() < stop_at:
            if flood:
                end = begin + FLOOD_SAMPLES
            else:
                end = int(np.searchsorted(time_s, time_s[begin] + MESSAGE_S))
                await asyncio.sleep(max(0.0, time_s[end - 1] - time.time()))
            part = slice(begin, min(end, time_s.size))
            sizes[seq] = part.stop - part.start
            await ws.send(json.dumps({"type": "samples", "sensor": sensor, "seq": seq, "time_s": time_s[part].tolist(),
                                      "acc_mps2": stream.acc_mps2[part].tolist(),
                                      "gyr_radps": stream.gyr_radps[part].tolist()}))
            begin, seq = part.stop, seq + 1
        await asyncio.sleep(1.0)  # the last acknowledgements
        reader.cancel()


def probe(base: str, set_ids: list[str], stop_at: float) -> list[float]:
    """(own process, so the load generator's work does not count) Ask for a page every 0.25 s; answer times."""
    paths = ["", "live", *(f"api/live/{s}" for s in set_ids)]
    times, k = [], 0
    while time.time() < stop_at:
        path = paths[k % 3] if k % 3 < 2 else paths[2 + (k // 3) % len(set_ids)]
        started = time.perf_counter()
        with urllib.request.urlopen(base + path, timeout=30) as response:
            response.read()
        times.append(time.perf_counter() - started)
        k += 1
        time.sleep(0.25)
    return times


async def load(args: argparse.Namespace) -> None:
    recording = simulate_preset("clean", seed=3).recording
    with tempfile.TemporaryDirectory() as tmp:
        server, base = start_server(Path(tmp))
        try:
            url = base.replace("http", "ws") + "api/live/ingest"
            set_ids = [f"load-{i:02d}" for i in range(args.sets)]
            stop_at = time.time() + args.duration
            acked: dict[tuple[str, str], int] = {}
            flooding = set(range(args.flooders))
            tasks = [source(url, set_id, sensor, recording.sensors[sensor], flood=2 * i + j in flooding,
                            stop_at=stop_at, acked=acked)
                     for i, set_id in enumerate(set_ids) for j, sensor in enumerate(SENSORS)]
            with ProcessPoolExecutor(1) as pool:
                probing = asyncio.get_running_loop().run_in_executor(pool, probe, base, set_ids, stop_at)
                *_, page_s = await asyncio.gather(*tasks, probing)
            missing = 0
            for set_id in set_ids:
                written = read_recording(Path(tmp) / "live" / f"{set_id}.csv")
                for sensor in SENSORS:
                    count = written.sensors[sensor].sample_count if sensor in written.sensors else 0
                    missing += max(0, acked.get((set_id, sensor), 0) - count)
        finally:
            server.terminate()
            server.wait(timeout=60)
    ms = np.array(page_s) * 1e3
    print(f"{args.sets} sets x 2 sources ({args.flooders} flooding), {args.duration:g} s: "
          f"{sum(acked.values())} samples acknowledged, {missing} acknowledged but missing from the files")
    print(f"pages ({ms.size} requests): median {np.median(ms):.0f} ms, p99 {np.percentile(ms, 99):.0f} ms, "
          f"max {ms.max():.0f} ms; {np.mean(ms < 1000) * 100:.1f} % within 1 s")


# -------------------------------------------------------------------------------------------------- kill


def kill(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    losses = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            path = Path(tmp) / f"run-{run}.csv"
            process = subprocess.Popen([sys.executable, "-m", "hinge", "record", "--virtual", "clean", "--rate",
                                        "100", "-o", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while not (path.exists() and path.read_bytes().count(b"\n") > 500):
                time.sleep(0.05)
            time.sleep(rng.uniform(0.5, 3.0))
            killed_s = time.time()
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            newest_s = max(float(s.time_s[-1]) for s in read_recording(path).sensors.values())
            losses.append(killed_s - newest_s)
    print(f"kill -9 of hinge record, {args.runs} runs: lost the last {statistics.median(losses):.2f} s (median), "
          f"{max(losses):.2f} s (max)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("load")
    p.add_argument("--sets", type=int, default=50)
    p.add_argument("--flooders", type=int, default=20)
    p.add_argument("--duration", type=float, default=30.0)
    p = commands.add_parser("kill")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.command == "load":
        asyncio.run(load(args))
    else:
        kill(args)


if __name__ == "__main__":
    main()
