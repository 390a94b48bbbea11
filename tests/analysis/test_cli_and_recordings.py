"""The `hinge analyze` / `hinge simulate` commands as a user runs them, and regression on `recordings/`.

The demo recordings' expectations are their simulator ground truth (made with `hinge simulate --truth`), not
a snapshot of our own output: they change only when the demo files are regenerated on purpose.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMOS = sorted((ROOT / "recordings").glob("demo-*.csv"))


def hinge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hinge", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_demo_recordings_exist():
    assert {p.stem for p in DEMOS} >= {"demo-clean", "demo-rounding", "demo-lean_back", "demo-back_only"}


@pytest.mark.parametrize("path", DEMOS, ids=lambda p: p.stem)
def test_demo_recordings_match_their_ground_truth(path):
    truth = json.loads(path.with_suffix(".truth.json").read_text())
    result = hinge("analyze", str(path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["recording"]["metadata"]["synthetic"] == "true"
    assert len(report["reps"]) == len(truth["reps"])
    for got, want in zip(report["reps"], truth["reps"]):
        assert got["flags"] == want["flags"]
        assert abs(got["bottom_s"] - want["bottom_s"]) < 0.15
        assert abs(got["trunk_angle_deg"] - want["trunk_angle_deg"]) < 1.5
        if want["back_rounding_deg"] is not None and got["back_rounding_deg"] is not None:
            assert abs(got["back_rounding_deg"] - want["back_rounding_deg"]) < 2.0


def test_text_report_shows_a_table_and_cues():
    result = hinge("analyze", str(ROOT / "recordings" / "demo-rounding.csv"))
    assert result.returncode == 0
    assert "reps in 1 set" in result.stdout and "trunk°" in result.stdout
    assert "back rounding on" in result.stdout


@pytest.mark.parametrize("content, message", [
    ("time_s,sensor,acc_x\n1,back,0\n", "expected the header"),
    ("time_s,sensor,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n1,back,0,0,9.8,0,0\n", "line 2: expected 8 columns"),
])
def test_bad_file_gives_one_line_and_nonzero_exit(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = hinge("analyze", str(path))
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_simulate_writes_a_recording_and_truth_that_analyze_reads(tmp_path):
    out, truth = tmp_path / "s.csv", tmp_path / "s.json"
    result = hinge("simulate", "--preset", "swing", "--seed", "3", "-o", str(out), "--truth", str(truth))
    assert result.returncode == 0, result.stderr
    expected = json.loads(truth.read_text())
    report = json.loads(hinge("analyze", str(out), "--json").stdout)
    assert report["summary"]["rep_count"] == len(expected["reps"])


def test_unknown_preset_and_units_option():
    result = hinge("simulate", "--preset", "nope")
    assert result.returncode == 2 and "unknown preset 'nope'" in result.stderr
    g_file = hinge("analyze", str(DEMOS[0]), "--acc-unit", "g", "--json")
    assert g_file.returncode == 2  # m/s² data read as g looks like 10 g of gravity: not a recording of a lift


def test_analyze_does_not_load_the_server_or_the_bluetooth_stack():
    code = ("import sys, hinge.cli; hinge.cli.main(['analyze', sys.argv[1], '--json']); "
            "print('LOADED', sorted(m for m in ('bleak', 'bumble', 'fastapi', 'uvicorn') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, str(DEMOS[0])], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("LOADED []")
