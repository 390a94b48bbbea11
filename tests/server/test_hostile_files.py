"""Hostile recording files through ``hinge analyze`` and ``hinge import``: one line on stderr, exit 2, no
traceback, no file written (cases generated in hostile.py)."""

from __future__ import annotations

import pytest
from hostile import hostile_files, recording

from hinge.cli import main

FILES = hostile_files()
# a valid recording that is too short to analyse: import converts it, analyze refuses it
VALID_FOR_IMPORT = {"too-few-samples"}


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)  # an unexpected exception would propagate here with its traceback: the test fails
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("case", sorted(FILES))
def test_analyze_refuses_with_one_line(case, tmp_path, capsys):
    path = tmp_path / f"{case}.csv"
    path.write_bytes(FILES[case])
    code, out, err = run(capsys, ["analyze", str(path)])
    assert code == 2 and out == ""
    assert err.startswith("hinge analyze: ") and err.count("\n") == 1 and len(err) < 600, err


@pytest.mark.parametrize("case", sorted(set(FILES) - VALID_FOR_IMPORT))
def test_import_refuses_with_one_line_and_writes_nothing(case, tmp_path, capsys):
    path = tmp_path / f"{case}.csv"
    path.write_bytes(FILES[case])
    output = tmp_path / "out.csv"
    code, _, err = run(capsys, ["import", str(path), "-o", str(output)])
    assert code == 2 and not output.exists()
    assert err.startswith("hinge import: ") and err.count("\n") == 1 and len(err) < 600, err


def test_control_the_set_the_hostile_files_are_made_from_is_analysable(tmp_path, capsys):
    """Control: each hostile file is this set with one thing broken, so the broken thing is why it is refused."""
    path = tmp_path / "base.csv"
    path.write_bytes(recording())
    code, out, err = run(capsys, ["analyze", str(path), "--json"])
    assert code == 0 and err == "" and '"rep_count":' in out
