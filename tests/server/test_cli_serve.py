"""``hinge serve``: a real uvicorn process that imports the demos, prints its URL and serves the pages."""

from __future__ import annotations

import json
import urllib.request

from hinge.cli import build_parser
from hinge.server.settings import DEMO_RECORDINGS_DIR


def test_serve_defaults():
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.data_dir, args.https) == (None, 8000, None, False)  # host: see --https


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
