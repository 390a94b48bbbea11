"""``hinge serve``: a real uvicorn process that imports the demos, prints its URL and serves the pages."""

from __future__ import annotations

import json
import urllib.request

from server.cli import build_parser


def test_serve_defaults():
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.data_dir) == ("127.0.0.1", 8000, None)


def test_serve_imports_demos_and_prints_its_url(live_server, tmp_path, simulated):
    demo_dir = tmp_path / "demos"
    demo_dir.mkdir()
    (demo_dir / "demo-clean.csv").write_bytes(simulated("clean"))
    server = live_server(demo_dir=demo_dir)
    with urllib.request.urlopen(server.url) as response:
        page = response.read().decode()
    with urllib.request.urlopen(f"{server.url}api/sessions") as response:
        sessions = json.load(response)
    output = server.stop()
    assert [s["name"] for s in sessions] == ["demo-clean"]
    assert "demo-clean</a>" in page
    assert f"hinge: open {server.url}" in output
    assert (tmp_path / "live-data" / "hinge.sqlite3").is_file()
