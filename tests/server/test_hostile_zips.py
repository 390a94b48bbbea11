"""Hostile zip archives through ``hinge import`` and the upload API: one-line refusals, nothing written or
stored, decompression bounded (cases generated in hostile.py)."""

from __future__ import annotations

import pytest
from hostile import hostile_zips

from hinge.cli import main

ZIPS = hostile_zips()


@pytest.mark.parametrize("case", sorted(ZIPS))
def test_import_refuses_with_one_line(case, tmp_path, capsys):
    path = tmp_path / f"{case}.zip"
    path.write_bytes(ZIPS[case])
    output = tmp_path / "out.csv"
    assert main(["import", str(path), "-o", str(output)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hinge import: ") and err.count("\n") == 1 and len(err) < 600, err
    assert not output.exists()


@pytest.mark.parametrize("case", sorted(ZIPS))
def test_upload_refuses_with_one_line_and_stores_nothing(case, client, data_dir):
    response = client.post("/api/sessions", files={"file": (f"{case}.zip", ZIPS[case], "application/zip")})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "\n" not in detail and len(detail) < 400
    assert client.get("/api/sessions").json() == []
    assert not any((data_dir / "recordings").iterdir())


def test_the_bomb_is_refused_for_what_it_unpacks_to(tmp_path, capsys):
    path = tmp_path / "bomb.zip"
    path.write_bytes(ZIPS["zip-bomb"])
    assert len(ZIPS["zip-bomb"]) < 2 << 20
    assert main(["import", str(path)]) == 2
    assert "unpacks to more than 1024 MiB" in capsys.readouterr().err
