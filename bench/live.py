"""Benchmarks of the live view against a real ``hinge serve`` on loopback.

Run: ``.venv/bin/python bench/live.py latency``, ``… capacity`` and ``… replay``.

- ``latency``: one simulated set (``clean``, back + hip at 100 Hz) is streamed in real time, in 0.1 s messages as
  the phone page sends them, while Chromium shows the live page. Angle latency: from a message's arrival to the
  frame after the page displayed the state that includes it. Rep latency: from the arrival of the sample at a
  rep's lockout (``end_s``) to the frame after the rep counter went up; it includes the time the streaming
  analysis waits to confirm the lockout.
- ``capacity``: N concurrent live sessions, each one connection sending back + hip at 100 Hz in 0.25 s messages
  (with sequence numbers, so the server acknowledges each once it is in the file) and one viewer. A level is
  sustained when every sample is recorded and acknowledgements keep up (95th percentile under 0.25 s, the
  message interval). Levels grow by 4 sessions until one is not sustained (bounded by ``--max-sessions``).
  Whether the analysis kept up is reported beside: the reps the sets showed when their streams stopped, against
  what the live analysis shows at that moment when it keeps up (the same seconds replayed in 0.25 s chunks).

- ``replay``: no server and no clock: each simulator family (``--seeds`` each) is replayed through
  :class:`~analysis.live.LiveAnalyzer` in 0.1 s chunks; a rep's latency is the stream time at which it became
  final minus its true lockout (the simulator's ``end_s``). Independent of the machine's speed.

The server runs on CPU 0 and this script (load, browser) on CPU 1, so the figures are for one core of the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
from websockets.asyncio.client import connect

from hinge.analysis.live import LiveAnalyzer
from hinge.analysis.recording import replay_chunks
from hinge.analysis.recording_format import read_recording
from hinge.analysis.simulate import simulate_preset

SENSORS = ("back", "hip")
SERVER_CPU, CLIENT_CPU = 0, 1  # the server (one uvicorn process) and the load generator each get a core
CHROMIUM = "/usr/bin/chromium"
HALF_PERIOD_S = 0.005  # half a sample period at 100 Hz
STARTUP_S = 0.5

# records when the page has drawn a state (data-time-s) or a new rep count (data-rep-count)
OBSERVE_JS = """() => {
  window.benchLog = {states: [], reps: []};
  const root = document.getElementById("live");
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      const value = root.getAttribute(m.attributeName);
      const list = m.attributeName === "data-time-s" ? window.benchLog.states : window.benchLog.reps;
      requestAnimationFrame(() => list.push([Number(value), Date.now() / 1000]));
    }
  }).observe(root, {attributes: true, attributeFilter: ["data-time-s", "data-rep-count"]});
}"""


class Server:
    """``hinge serve`` on a free loopback port with an empty data directory."""

    def __init__(self, data_dir: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {**os.environ, "HINGE_DEMO_DIR": "none"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hinge", "serve", "--port", str(self.port), "--data-dir", str(data_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
            preexec_fn=lambda: os.sched_setaffinity(0, {SERVER_CPU}))
        self.url = f"http://127.0.0.1:{self.port}/"
        for _ in range(200):
            try:
                urllib.request.urlopen(self.url, timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("hinge serve did not start")

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path.lstrip("/")) as response:
            return json.load(response)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def restamped(recording, start_s: float) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The recording's streams moved onto a time base that starts at ``start_s``."""
    shift = start_s - recording.start_time_s
    return {name: (s.time_s + shift, s.acc_mps2, s.gyr_radps) for name, s in recording.sensors.items()}


def messages_for(streams, begin_s: float, end_s: float, seq: int | None = None) -> list[dict]:
    out: list[dict] = []
    for sensor in SENSORS:
        time_s, acc, gyr = streams[sensor]
        part = (time_s >= begin_s) & (time_s < end_s)
        if part.any():
            message = {"type": "samples", "sensor": sensor, "time_s": time_s[part].tolist(),
                       "acc_mps2": acc[part].tolist(), "gyr_radps": gyr[part].tolist()}
            if seq is not None:
                message["seq"] = seq + len(out)
            out.append(message)
    return out


def hello(session_id: str) -> str:
    return json.dumps({"type": "hello", "protocol": "hinge-live/1", "session_id": session_id, "source_id": session_id,
                       "metadata": {"source": "bench", "back_device": "bench", "hip_device": "bench"}})


# ------------------------------------------------------------------------------------------------- latency


def stream_in_real_time(url: str, session_id: str, streams, *, batch_s: float) -> list[tuple[float, float]]:
    """Send each ``batch_s`` of samples when its last sample is due; return (last sample time, sent at) pairs."""
    from websockets.sync.client import connect as connect_sync

    sent = []
    first_s = min(streams[s][0][0] for s in SENSORS)
    last_s = max(streams[s][0][-1] for s in SENSORS)
    with connect_sync(url) as socket:
        socket.send(hello(session_id))
        begin_s = first_s
        while begin_s <= last_s:
            end_s = begin_s + batch_s
            time.sleep(max(0.0, end_s - time.time()))
            for message in messages_for(streams, begin_s, end_s):
                socket.send(json.dumps(message))
                sent.append((message["time_s"][-1], time.time()))
            begin_s = end_s
    return sent


def watch_states(url: str, received: list[tuple[float, float]], stop: threading.Event) -> None:
    """A WebSocket viewer without a browser: (state time, arrival) pairs, to tell the server's share."""
    from websockets.sync.client import connect as connect_sync

    with connect_sync(url) as socket:
        while not stop.is_set():
            try:
                message = json.loads(socket.recv(timeout=0.5))
            except TimeoutError:
                continue
            if message["type"] == "state":
                received.append((message["state"]["time_s"], time.time()))


def delays_ms(shown: np.ndarray, sample_time: np.ndarray, sent_at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per message: when the first state that includes its last sample was shown, minus when it was sent."""
    delays, at_time_s = [], []
    for t, at in zip(sample_time, sent_at):
        later = np.flatnonzero(shown[:, 0] >= t - HALF_PERIOD_S)  # the state's clock is within a sample of ours
        if later.size:
            delays.append((shown[later[0], 1] - at) * 1000)
            at_time_s.append(t)
    return np.array(delays), np.array(at_time_s)


def describe_ms(what: str, values_ms: np.ndarray) -> str:
    return (f"{what}: {values_ms.size} messages, median {np.median(values_ms):.0f} ms, 95th percentile "
            f"{np.percentile(values_ms, 95):.0f} ms, 99th {np.percentile(values_ms, 99):.0f} ms, "
            f"max {values_ms.max():.0f} ms")


def latency(seconds_limit: float) -> None:
    from playwright.sync_api import sync_playwright

    simulation = simulate_preset("clean", seed=11)
    received: list[tuple[float, float]] = []
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        server = Server(Path(folder))
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{server.url}live/bench")
            page.wait_for_selector("#connection[data-state=connected]")
            page.evaluate(OBSERVE_JS)
            watcher = threading.Thread(target=watch_states, args=(
                f"ws://127.0.0.1:{server.port}/api/live/bench/view", received, stop))
            watcher.start()
            start_s = time.time() + 0.5
            streams = restamped(simulation.recording, start_s)
            for name in SENSORS:  # bounded run
                keep = streams[name][0] < start_s + seconds_limit
                time_s, acc, gyr = streams[name]
                streams[name] = (time_s[keep], acc[keep], gyr[keep])
            sent = stream_in_real_time(f"ws://127.0.0.1:{server.port}/api/live/ingest", "bench", streams,
                                       batch_s=0.1)
            time.sleep(1.0)
            stop.set()
            watcher.join()
            log = page.evaluate("window.benchLog")
            reps = server.get("/api/live/bench")["reps"]
            browser.close()
        finally:
            stop.set()
            server.stop()

    first_s = min(streams[s][0][0] for s in SENSORS)
    sample_time = np.array([t for t, _ in sent]) - first_s
    sent_at = np.array([at for _, at in sent])
    # the analysis shows no angle until it knows each sensor's rate (its first 50 samples): leave that out
    steady = sample_time >= STARTUP_S
    print(f"(the first {STARTUP_S} s, while the analysis learns the sensors' rates, left out)")
    socket_ms, _ = delays_ms(np.array(received), sample_time[steady], sent_at[steady])
    print(describe_ms("angle state at a WebSocket viewer", socket_ms))
    display_ms, display_time_s = delays_ms(np.array(log["states"]), sample_time[steady], sent_at[steady])
    slow = display_time_s[display_ms > 150]
    print(describe_ms("angle on the live page (frame after the update)", display_ms) + " (target <= 150 ms); over "
          "150 ms at " + (", ".join(f"{t:.1f}" for t in slow) or "none") + " s into the set")
    rep_shown = {int(count): at for count, at in log["reps"]}
    true_end_s = [rep["end_s"] - simulation.recording.start_time_s for rep in simulation.truth.reps]
    for what, ends_s in (("the sample at the rep's end_s", [r["end_s"] for r in reps if not r.get("partial")]),
                         ("the true lockout (simulator)", true_end_s)):
        rep_ms = [(rep_shown[number] - sent_at[np.searchsorted(sample_time, end_s - HALF_PERIOD_S)]) * 1000
                  for number, end_s in enumerate(ends_s, start=1) if number in rep_shown]
        print(f"rep summary on the live page after {what} arrived: {len(rep_ms)} reps, "
              + ", ".join(f"{ms:.0f}" for ms in rep_ms) + " ms (target <= 300 ms)")


# ------------------------------------------------------------------------------------------------ capacity


async def run_session(url: str, view_url: str, session_id: str, streams, seconds: float, start_s: float,
                      ack_delays_s: list[float]) -> int:
    """Stream ``seconds`` of back + hip in 0.25 s messages with acknowledgements; return samples sent.

    Messages go out when their last sample is due, so sessions that start at different moments send at
    different phases, as independent phones and recorders do."""
    sent_at: dict[int, float] = {}
    sent = 0
    async with connect(url, max_size=None) as source, connect(view_url, max_size=None) as viewer:
        async def read_acks():
            async for text in source:
                reply = json.loads(text)
                if reply.get("type") == "ack":
                    ack_delays_s.append(time.time() - sent_at.pop(reply["seq"]))

        async def watch():
            async for _ in viewer:
                pass

        readers = [asyncio.create_task(read_acks()), asyncio.create_task(watch())]
        await source.send(hello(session_id))
        seq = 0
        for step in range(int(seconds / 0.25)):
            begin_s = start_s + step * 0.25
            await asyncio.sleep(max(0.0, begin_s + 0.25 - time.time()))
            for message in messages_for(streams, begin_s, begin_s + 0.25, seq=seq):
                sent_at[message["seq"]] = time.time()
                await source.send(json.dumps(message))
                sent += len(message["time_s"])
            seq += 2
        for _ in range(100):  # wait for the last acknowledgements
            if not sent_at:
                break
            await asyncio.sleep(0.05)
        for task in readers:
            task.cancel()
    return sent


async def capacity_level(server: Server, sessions: int, seconds: float, simulation) -> tuple[list[str], list[int],
                                                                                      list[float], int]:
    """Returns the session ids, samples sent per session, acknowledgement delays and the reps shown in all sets
    when the streams stopped."""
    delays: list[float] = []
    ids = [f"cap{sessions}-{i}" for i in range(sessions)]
    starts_s = time.time() + 0.5 + np.random.default_rng(sessions).uniform(0, 0.25, sessions)
    sent = await asyncio.gather(*(run_session(
        f"ws://127.0.0.1:{server.port}/api/live/ingest", f"ws://127.0.0.1:{server.port}/api/live/{i}/view", i,
        restamped(simulation.recording, start_s), seconds, start_s, delays) for i, start_s in zip(ids, starts_s)))
    shown = sum([len(server.get(f"/api/live/{i}")["reps"]) for i in ids])
    return ids, list(sent), delays, shown


def reps_when_keeping_up(recording, seconds: float) -> int:
    """The reps the live analysis shows after ``seconds`` of ``recording`` when it analyses every 0.25 s message."""
    live = LiveAnalyzer(metadata=recording.metadata)
    shown = 0
    for chunk in replay_chunks(recording, chunk_s=0.25):
        if chunk.time_s[0] >= recording.start_time_s + seconds:
            break
        live.push(chunk)
        shown += len(live.update())
    return shown


def capacity(seconds: float, max_sessions: int, min_sessions: int = 4) -> None:
    simulation = simulate_preset("clean", seed=12)
    keeping_up = reps_when_keeping_up(simulation.recording, seconds)
    for sessions in range(min_sessions, max_sessions + 1, 4):
        with tempfile.TemporaryDirectory() as folder:
            server = Server(Path(folder))
            try:
                ids, sent, delays, shown = asyncio.run(capacity_level(server, sessions, seconds, simulation))
            finally:
                server.stop()
            # every sample sent is in its session's file (read after the server stopped)
            recorded = [sum(s.sample_count for s in read_recording(Path(folder) / "live" / f"{i}.csv").sensors.values())
                        for i in ids]
        lost = sum(sent) - sum(recorded)
        expected_acks = sessions * int(seconds / 0.25) * 2
        p95_ms = np.percentile(delays, 95) * 1000 if delays else float("nan")
        ok = lost == 0 and len(delays) == expected_acks and p95_ms < 250
        print(f"{sessions:3d} sessions: {sum(sent)} samples sent, {lost} lost, acknowledgements {len(delays)}/"
              f"{expected_acks}, median {np.median(delays) * 1000:.0f} ms, 95th percentile {p95_ms:.0f} ms; reps "
              f"shown {shown}/{sessions * keeping_up}" + ("" if ok else "  <- not sustained"), flush=True)
        if not ok:
            break


# ------------------------------------------------------------------------------------------------- replay


def replay_latency(seeds: int) -> None:
    from hinge.analysis.live import REPLAY_CHUNK_S, LiveAnalyzer
    from hinge.analysis.recording import replay_chunks
    from hinge.analysis.simulate import FAMILIES, simulate_family

    everything = []
    for family in sorted(FAMILIES):
        delays_s, waited = [], 0
        for seed in range(1000, 1000 + seeds):
            simulation = simulate_family(family, seed=seed)
            origin_s = simulation.recording.start_time_s
            truth = [(r["start_s"] - origin_s, r["end_s"] - origin_s) for r in simulation.truth.reps]
            live = LiveAnalyzer(metadata=simulation.recording.metadata)
            for chunk in replay_chunks(simulation.recording, chunk_s=REPLAY_CHUNK_S):
                live.push(chunk)
                for rep in live.update():
                    lockout_s = [end_s for start_s, end_s in truth if start_s <= rep.bottom_s <= end_s]
                    if lockout_s:
                        delays_s.append(live.state().time_s - lockout_s[0])
            waited += len(live.update(final=True))  # reported only when the set ended
        everything += delays_s
        if delays_s:
            print(f"{family:20s} {len(delays_s):3d} reps: median {np.median(delays_s):.2f} s, max "
                  f"{np.max(delays_s):.2f} s; {waited} more at the set's end")
    values = np.array(everything)
    print(f"all: {values.size} reps, median {np.median(values):.2f} s, "
          f"90th percentile {np.percentile(values, 90):.2f} s, 99th {np.percentile(values, 99):.2f} s, "
          f"max {values.max():.2f} s (true lockout -> final, stream time)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", choices=("latency", "capacity", "replay"))
    parser.add_argument("--seconds", type=float, default=None,
                        help="data streamed per run (latency: default the whole 50 s set; capacity: default 20)")
    parser.add_argument("--max-sessions", type=int, default=64, help="capacity: largest level tried")
    parser.add_argument("--min-sessions", type=int, default=4, help="capacity: first level tried")
    parser.add_argument("--seeds", type=int, default=2, help="replay: seeds per simulator family (from 1000)")
    args = parser.parse_args()
    os.sched_setaffinity(0, {CLIENT_CPU})
    if args.which == "replay":
        replay_latency(args.seeds)
    elif args.which == "latency":
        latency(args.seconds or 60.0)
    else:
        capacity(args.seconds or 20.0, args.max_sessions, args.min_sessions)


if __name__ == "__main__":
    main()
