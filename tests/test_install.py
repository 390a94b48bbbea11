"""The wheel as a user installs it: a fresh virtualenv, no checkout on the path, no editable install.

The analysis core comes from the package registry (as ``pip install hinge`` would fetch it); for ``hinge serve``
the extras are then borrowed from the environment running the tests (a ``.pth`` line) instead of downloading
them again.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import hinge

ROOT = Path(__file__).resolve().parents[1]
NOT_SOURCE = shutil.ignore_patterns(".*", "build", "data", "dist", "test-artifacts", "*.egg-info", "__pycache__",
                                    "out")

pytestmark = pytest.mark.slow


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=cwd, env=env,
                            timeout=600)
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv holding the wheel built from this checkout and the core dependencies; returns its root."""
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", tmp / "dist", source, cwd=tmp)
    (wheel,) = (tmp / "dist").glob("hinge-*.whl")
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet", wheel, cwd=tmp)
    return venv


def site_packages(venv: Path) -> Path:
    (path,) = venv.glob("lib/python*/site-packages")
    return path


def test_version_from_the_script_and_the_module(installed, tmp_path):
    for command in ([installed / "bin" / "hinge"], [installed / "bin" / "python", "-m", "hinge"]):
        assert run(*command, "--version", cwd=tmp_path).stdout == f"hinge {hinge.__version__}\n"


def test_nothing_but_hinge_is_installed_at_the_top_level(installed):
    (dist_info,) = site_packages(installed).glob("hinge-*.dist-info")
    records = (dist_info / "RECORD").read_text().splitlines()
    top_level = {line.split(",")[0].split("/")[0] for line in records} - {dist_info.name, ".."}
    assert top_level == {"hinge"}
    assert (dist_info / "top_level.txt").read_text().split() == ["hinge"]
    assert any(p.name == "LICENSE" for p in dist_info.rglob("*"))


def test_analyze_a_shipped_demo(installed, tmp_path):
    demos = site_packages(installed) / "hinge" / "recordings"
    truth = json.loads((demos / "demo-clean.truth.json").read_text())
    result = run(installed / "bin" / "hinge", "analyze", demos / "demo-clean.csv", "--json", cwd=tmp_path)
    assert json.loads(result.stdout)["summary"]["rep_count"] == len(truth["reps"])


@pytest.mark.parametrize(("command", "extra"), [("serve", "server"), ("scan", "ble")])
def test_a_command_of_a_missing_extra_names_it(installed, tmp_path, command, extra):
    result = subprocess.run([installed / "bin" / "hinge", command], capture_output=True, text=True, cwd=tmp_path,
                            timeout=120)
    assert result.returncode == 2
    assert f"needs the optional dependencies of hinge[{extra}]" in result.stderr, result.stderr


def test_serve_shows_the_demos_and_keeps_its_data_in_the_user_data_dir(installed, tmp_path):
    borrowed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages(installed) / "_borrowed_extras.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HINGE_")}
    env.update(XDG_DATA_HOME=str(tmp_path / "xdg"), PYTHONUNBUFFERED="1")
    launched_in = tmp_path / "elsewhere"
    launched_in.mkdir()
    process = subprocess.Popen([installed / "bin" / "hinge", "serve", "--port", str(port)], cwd=launched_in,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        printed = []
        for line in process.stdout:  # ends when the server exits, so a failed start cannot hang the test
            printed.append(line)
            if line.startswith("hinge: open"):
                break
        else:
            pytest.fail("hinge serve exited:\n" + "".join(printed))
        data_dir = tmp_path / "xdg" / "hinge"
        demos = len(list((site_packages(installed) / "hinge" / "recordings").glob("*.csv")))
        assert demos > 0
        assert line.strip() == f"hinge: open http://127.0.0.1:{port}/ ({demos} sessions in {data_dir})"
        assert (data_dir / "hinge.sqlite3").is_file()
        assert list(launched_in.iterdir()) == []  # nothing written where it was launched
    finally:
        process.terminate()
        process.communicate(timeout=60)
