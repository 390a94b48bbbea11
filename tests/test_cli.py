"""The `hinge` front door: version, logging to stderr, and commands whose extra is not installed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import hinge

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "recordings" / "demo-clean.csv"
HINGE = Path(sys.executable).with_name("hinge")  # the console script of the environment running the tests


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("command", [(str(HINGE),), (sys.executable, "-m", "hinge")], ids=["script", "module"])
def test_version(command):
    result = run(*command, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"hinge {hinge.__version__}\n"


def test_log_level_sends_diagnostics_to_stderr_before_or_after_the_command():
    quiet = run(sys.executable, "-m", "hinge", "analyze", str(DEMO), "--json")
    assert quiet.returncode == 0 and quiet.stderr == ""
    for args in (("--log-level", "info", "analyze", str(DEMO), "--json"),
                 ("analyze", str(DEMO), "--json", "--log-level", "info")):
        result = run(sys.executable, "-m", "hinge", *args)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == json.loads(quiet.stdout)  # stdout stays the report alone
        assert "INFO hinge.server.cli_analysis: " in result.stderr and "reps analysed" in result.stderr


def test_a_bad_log_level_is_refused():
    result = run(sys.executable, "-m", "hinge", "--log-level", "loud", "analyze", str(DEMO))
    assert result.returncode == 2 and "invalid choice: 'loud'" in result.stderr


# Python refuses to import a module whose sys.modules entry is None, as when the package is not installed.
WITHOUT = "import sys; sys.modules.update(dict.fromkeys(sys.argv[1].split(','))); import hinge.cli; " \
          "sys.exit(hinge.cli.main(sys.argv[2:]))"


@pytest.mark.parametrize(("missing", "args", "extra"), [
    ("bleak,bumble", ("scan", "--timeout", "1"), "ble"),
    ("bleak,bumble", ("record", "--back", "AA:BB", "-h"), "ble"),
    ("uvicorn,fastapi", ("serve", "--port", "1"), "server"),
])
def test_a_command_whose_extra_is_missing_says_which_extra(missing, args, extra):
    result = run(sys.executable, "-c", WITHOUT, missing, *args)
    assert result.returncode == 2
    assert result.stderr.startswith(f"hinge {args[0]}: needs the optional dependencies of hinge[{extra}] ")
    assert f"pip install 'hinge[{extra}]'" in result.stderr and "Traceback" not in result.stderr


def test_help_and_the_analysis_work_without_the_extras():
    result = run(sys.executable, "-c", WITHOUT, "bleak,bumble,uvicorn,fastapi", "--help")
    assert result.returncode == 0, result.stderr
    assert "(needs: pip install 'hinge[ble]')" in result.stdout and "scan" in result.stdout
    result = run(sys.executable, "-c", WITHOUT, "bleak,bumble,uvicorn,fastapi", "analyze", str(DEMO), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["rep_count"] > 0
