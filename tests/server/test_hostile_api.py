"""Hostile API requests (ids, dates, nesting, types, sizes): a 4xx with a one-line JSON message, the stored
session unchanged (cases generated in hostile.py)."""

from __future__ import annotations

import pytest
from hostile import hostile_api_requests

REQUESTS = {case: (method, path, options) for case, method, path, options in hostile_api_requests()}


@pytest.mark.parametrize("case", sorted(REQUESTS))
def test_hostile_requests_are_refused_and_change_nothing(case, client, upload, data_dir):
    stored = upload("clean")
    assert stored["id"] == 1
    method, path, options = REQUESTS[case]
    response = client.request(method, path, **options)
    assert 400 <= response.status_code < 500, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and len(detail) < 600
    sessions = client.get("/api/sessions").json()
    assert [s["id"] for s in sessions] == [1] and client.get("/api/sessions/1").json() == stored
    assert client.get("/api/live").json() == []
    assert not any((data_dir / "live").iterdir())
