"""Hostile uploads (every hostile file, as a recording and as a phone export, plus hostile form fields): a 4xx
with a one-line JSON message, nothing stored (cases generated in hostile.py)."""

from __future__ import annotations

import pytest
from hostile import hostile_files, recording

FILES = hostile_files()
FORMS = {
    "name-too-long": {"name": "x" * 201},
    "load-negative": {"load_kg": "-1"},
    "load-1e999": {"load_kg": "1e999"},
    "load-nan": {"load_kg": "nan"},
    "placement-knee": {"placement": "knee"},
    "thresholds-not-json": {"thresholds": "{"},
    "thresholds-deep": {"thresholds": "[" * 50_000 + "]" * 50_000},
    "thresholds-unknown": {"thresholds": '{"knee_deg": 1}'},
    "thresholds-negative": {"thresholds": '{"back_rounding_deg": -1}'},
    "notes-too-long": {"notes": "x" * 10_001},
}


def assert_refused(client, data_dir, response) -> None:
    assert 400 <= response.status_code < 500, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and len(detail) < 600
    assert client.get("/api/sessions").json() == []
    assert not any((data_dir / "recordings").iterdir())


@pytest.mark.parametrize("placement", ["back", "hip"])
@pytest.mark.parametrize("case", sorted(FILES))
def test_hostile_files_are_refused(case, placement, client, data_dir):
    response = client.post("/api/sessions", files={"file": (f"{case}.csv", FILES[case], "text/csv")},
                           data={"placement": placement})
    assert_refused(client, data_dir, response)


@pytest.mark.parametrize("case", sorted(FORMS))
def test_hostile_form_fields_are_refused(case, client, data_dir):
    response = client.post("/api/sessions", files={"file": ("set.csv", recording(), "text/csv")}, data=FORMS[case])
    assert_refused(client, data_dir, response)


def test_an_upload_over_the_limit_is_refused_while_streaming(make_client, data_dir):
    client = make_client(max_upload_bytes=100_000)
    response = client.post("/api/sessions", files={"file": ("set.csv", recording(), "text/csv")})
    assert response.status_code == 413
    assert_refused(client, data_dir, response)
