"""Fixtures for the server tests: simulated recordings (real analysis, real simulator) and an app on a tmp dir."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hinge.server.app import create_app
from hinge.server.settings import Settings

# the TestClient's own host name, besides the loopback names every server answers to
TEST_HOSTS = ("testserver", *Settings().allowed_hosts)


@pytest.fixture(scope="session")
def simulated() -> Callable[..., bytes]:
    """``simulated(preset, seed=1)`` -> the bytes of a ``hinge simulate`` recording (cached for the session)."""
    from hinge.analysis.recording_format import write_recording
    from hinge.analysis.simulate import simulate_preset

    cache: dict[tuple[str, int], bytes] = {}

    def make(preset: str, seed: int = 1) -> bytes:
        if (preset, seed) not in cache:
            out = io.BytesIO()
            write_recording(simulate_preset(preset, seed=seed).recording, out)
            cache[preset, seed] = out.getvalue()
        return cache[preset, seed]

    return make


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def make_client(data_dir: Path) -> Iterator[Callable[..., TestClient]]:
    """``make_client(**settings)`` -> a started TestClient on ``data_dir`` (no demo import unless asked)."""
    clients: list[TestClient] = []

    def make(**overrides) -> TestClient:
        settings = Settings(**{"data_dir": data_dir, "demo_dir": None, "allowed_hosts": TEST_HOSTS, **overrides})
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


@pytest.fixture
def upload(client: TestClient, simulated) -> Callable[..., dict]:
    """``upload(preset, **form)`` -> the created session (asserts 201)."""

    def post(preset: str = "clean", seed: int = 1, filename: str | None = None, **form) -> dict:
        name = filename or f"{preset}-{seed}.csv"
        response = client.post("/api/sessions", files={"file": (name, simulated(preset, seed), "text/csv")}, data=form)
        assert response.status_code == 201, response.text
        return response.json()

    return post


class LiveServer:
    """``hinge serve`` in a subprocess on a free localhost port; ``url`` once it answers."""

    def __init__(self, data_dir: Path, demo_dir: Path | None, args: tuple[str, ...] = ()) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.printed: list[str] = []  # lines already read by wait_for_line
        self.data_dir = data_dir
        env = {**os.environ, "HINGE_DEMO_DIR": str(demo_dir) if demo_dir else "none", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hinge", "serve", "--port", str(self.port), "--data-dir", str(data_dir), *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )

    def live_file(self, session_id: str) -> Path:
        """The raw stream of an open live session."""
        return self.data_dir / "live" / f"{session_id}.csv"

    def wait_for_line(self, prefix: str, attempts: int = 200) -> str:
        """Read what the server prints until a line starts with ``prefix``; return that line."""
        assert self.process.stdout is not None, "started with stdout=PIPE"
        for _ in range(attempts):
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"hinge serve exited before printing {prefix!r}:\n{self.stop()}")
            self.printed.append(line)
            if line.startswith(prefix):
                return line.rstrip("\n")
        raise RuntimeError(f"hinge serve did not print {prefix!r}:\n{''.join(self.printed)}")

    def wait_until_up(self, attempts: int = 240) -> None:
        for _ in range(attempts):
            if self.process.poll() is not None:
                raise RuntimeError(f"hinge serve exited:\n{self.process.communicate()[0]}")
            try:
                with urllib.request.urlopen(self.url, timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.25)
        raise RuntimeError(f"hinge serve did not answer at {self.url}:\n{self.stop()}")

    def stop(self) -> str:
        """Stop the server; return everything it printed."""
        self.process.terminate()
        output, _ = self.process.communicate(timeout=30)
        return "".join(self.printed) + output


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """``live_server(demo_dir=None, args=())`` -> a running ``hinge serve`` on a tmp data dir (stopped afterwards)."""
    servers: list[LiveServer] = []

    def start(demo_dir: Path | None = None, args: tuple[str, ...] = ()) -> LiveServer:
        server = LiveServer(tmp_path / "live-data", demo_dir, args)
        servers.append(server)
        if "--https" in args:  # the certificate is not trusted here: wait for the line printed once it listens
            server.wait_for_line("hinge: open")
        else:
            server.wait_until_up()
        return server

    yield start
    for server in servers:
        server.stop()  # also closes the output pipe of a server a test killed
