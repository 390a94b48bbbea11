"""``hinge serve``: a real uvicorn process that imports the demos, prints its URL and serves the pages."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from hinge.cli import build_parser
from hinge.server.settings import DEMO_RECORDINGS_DIR, Settings

ROOT = Path(__file__).resolve().parents[2]


def test_serve_defaults():
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.data_dir, args.https) == (None, 8000, None, False)  # host: see --https


def test_data_dir_is_the_checkouts_unless_hinge_data_dir_says_otherwise(monkeypatch, tmp_path):
    """Installed (no checkout), the default is the user's data directory: see tests/test_install.py."""
    monkeypatch.delenv("HINGE_DATA_DIR", raising=False)
    assert Settings().data_dir == ROOT / "data"
    assert DEMO_RECORDINGS_DIR == ROOT / "recordings"
    monkeypatch.setenv("HINGE_DATA_DIR", str(tmp_path))
    assert Settings().data_dir == tmp_path


def test_serve_imports_the_demo_recordings_and_prints_its_url(live_server, tmp_path):
    """What a new user sees: the shipped demo recordings as sessions, at the URL the command printed."""
    demos = sorted(DEMO_RECORDINGS_DIR.glob("*.csv"))
    assert demos, "recordings/ should hold the demo recordings"
    server = live_server(demo_dir=DEMO_RECORDINGS_DIR)
    with urllib.request.urlopen(server.url) as response:
        page = response.read().decode()
    with urllib.request.urlopen(f"{server.url}api/sessions") as response:
        sessions = json.load(response)
    output = server.stop()
    assert sorted(s["name"] for s in sessions) == [path.stem for path in demos]
    assert all(s["summary"]["rep_count"] > 0 for s in sessions)
    for path in demos:
        assert f"{path.stem}</a>" in page
    assert f"hinge: open {server.url} ({len(demos)} sessions in " in output
    assert (tmp_path / "live-data" / "hinge.sqlite3").is_file()


def test_the_server_does_not_import_bleak():
    """``hinge serve`` writes live recordings with the reader's writer, not the BLE recorder's."""
    code = "import sys, hinge.server.app, hinge.server.cli_serve; print('bleak' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
