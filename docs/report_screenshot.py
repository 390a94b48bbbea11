"""Regenerate ``docs/report.png``: a report page of a simulated "rounding" set, shot in Debian's Chromium.

Run from the repository root: ``.venv/bin/python docs/report_screenshot.py`` (needs ``apt-get install chromium``).
The server runs in this process on a free localhost port with a throwaway data directory.
"""

from __future__ import annotations

import io
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from hinge.analysis.recording_format import write_recording
from hinge.analysis.simulate import simulate_preset
from hinge.server.app import create_app
from hinge.server.sessions import create_session
from hinge.server.settings import Settings

OUT = Path(__file__).resolve().parent / "report.png"
CHROMIUM = "/usr/bin/chromium"
PRESET, SEED = "rounding", 1


def main() -> int:
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(Settings(data_dir=Path(data_dir), demo_dir=None))
        recording = io.BytesIO()
        write_recording(simulate_preset(PRESET, seed=SEED).recording, recording)
        session = create_session(app.state.store, recording.getvalue(), filename="rdl-rounding.csv",
                                 name="Romanian deadlift, set 1", exercise="Romanian deadlift", load_kg=80.0)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"http://127.0.0.1:{port}/sessions/{session.id}")
                page.wait_for_selector("body[data-plots-ready=true]")
                page.screenshot(path=str(OUT), full_page=True)
                browser.close()
        finally:
            server.should_exit = True
            thread.join()
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
