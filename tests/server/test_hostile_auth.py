"""Hostile credentials and cross-site requests: wrong, empty, non-ASCII and oversized tokens, foreign Origins and
Hosts (DNS rebinding), on every state-changing route and WebSocket; nothing is stored or changed, and the token
never reaches the log (cases generated here)."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from hostile import recording
from live_helpers import receive_within, refusal

TOKEN = "s3cret-token"
INGEST = "/api/live/ingest"
HELLO = {"type": "hello", "protocol": "hinge-live/1", "session_id": "auth", "metadata": {"back_device": "x"}}
BAD_CREDENTIALS = {
    "none": {},
    "wrong-bearer": {"headers": {"Authorization": "Bearer nope"}},
    "empty-bearer": {"headers": {"Authorization": "Bearer "}},
    "bearer-without-space": {"headers": {"Authorization": f"Bearer{TOKEN}"}},
    "basic-scheme": {"headers": {"Authorization": f"Basic {TOKEN}"}},
    "non-ascii-bearer": {"headers": {"Authorization": "Bearer s3crét".encode()}},
    "prefix-of-token": {"headers": {"Authorization": f"Bearer {TOKEN[:-1]}"}},
    "token-plus-one": {"headers": {"Authorization": f"Bearer {TOKEN}x"}},
    "1-mb-token": {"headers": {"Authorization": "Bearer " + "x" * (1 << 20)}},
    "query-wrong": {"params": {"token": "nope"}},
    "query-empty": {"params": {"token": ""}},
    "query-non-ascii": {"params": {"token": "s3crét"}},
    "query-percent-garbage": {"params": {"token": "%ff%fe"}},
    "cookie-wrong": {"cookies": {"hinge_token": "nope"}},
    "cookie-malformed": {"headers": {"Cookie": 'hinge_token="unterminated'}},
    "cookie-non-ascii": {"headers": {"Cookie": "hinge_token=s3crét".encode()}},
}
CROSS_SITE = {
    "foreign-origin": {"Origin": "https://evil.example"},
    "null-origin": {"Origin": "null"},
    "origin-other-port": {"Origin": "http://testserver:8080"},
    "origin-other-scheme": {"Origin": "https://testserver"},
    "sec-fetch-cross-site": {"Sec-Fetch-Site": "cross-site"},
    "sec-fetch-same-site": {"Sec-Fetch-Site": "same-site"},
    "rebinding-host": {"Host": "evil.example"},
    "rebinding-host-with-port": {"Host": "evil.example:8000"},
    "empty-host": {"Host": ""},
}


def changes(client) -> dict:
    """State-changing requests of every kind, as keyword arguments of ``client.request``."""
    return {
        "upload": ("POST", "/api/sessions", {"files": {"file": ("a.csv", recording(), "text/csv")}}),
        "edit": ("PATCH", "/api/sessions/1", {"json": {"name": "pwned"}}),
        "delete": ("DELETE", "/api/sessions/1", {}),
        "reanalyse": ("POST", "/api/sessions/1/reanalyse", {"json": {"back_rounding_deg": 1}}),
        "sensor-logger": ("POST", "/api/live/x/sensorlogger", {"json": {"payload": []}}),
        "end-set": ("POST", "/api/live/x/end", {}),
        "discard-set": ("DELETE", "/api/live/x", {}),
    }


@pytest.fixture
def guarded(make_client, data_dir):
    client = make_client(token=TOKEN)
    stored = client.post("/api/sessions", files={"file": ("a.csv", recording(), "text/csv")},
                         headers={"Authorization": f"Bearer {TOKEN}"})
    assert stored.status_code == 201
    client.cookies.clear()
    return client, stored.json()


def assert_unchanged(client, stored, data_dir) -> None:
    assert client.get("/api/sessions").json()[0]["name"] == stored["name"]
    assert len(client.get("/api/sessions").json()) == 1
    assert client.get("/api/live").json() == [] and not any((data_dir / "live").iterdir())


@pytest.mark.parametrize("credentials", sorted(BAD_CREDENTIALS))
@pytest.mark.parametrize("change", ["upload", "edit", "delete", "reanalyse", "sensor-logger", "end-set",
                                    "discard-set"])
def test_bad_credentials_change_nothing(guarded, data_dir, change, credentials):
    client, stored = guarded
    method, path, options = changes(client)[change]
    extra = BAD_CREDENTIALS[credentials]
    client.cookies.clear()
    for name, value in extra.get("cookies", {}).items():
        client.cookies.set(name, value)
    response = client.request(method, path, **options, **{k: v for k, v in extra.items() if k != "cookies"})
    client.cookies.clear()
    assert response.status_code == 401, response.text
    assert "\n" not in response.json()["detail"]
    assert_unchanged(client, stored, data_dir)


@pytest.mark.parametrize("credentials", sorted(BAD_CREDENTIALS))
def test_bad_credentials_cannot_ingest(guarded, data_dir, credentials):
    client, stored = guarded
    extra = BAD_CREDENTIALS[credentials]
    query = "?token=" + extra["params"]["token"] if "params" in extra else ""
    headers = dict(extra.get("headers", {}))
    if "cookies" in extra:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in extra["cookies"].items())
    with client.websocket_connect(INGEST + query, headers=headers) as source:
        source.send_json(HELLO)
        closed = refusal(source)
    assert closed.code == 1008
    assert_unchanged(client, stored, data_dir)


@pytest.mark.parametrize("attack", sorted(CROSS_SITE))
@pytest.mark.parametrize("change", ["upload", "edit", "delete", "reanalyse", "sensor-logger", "end-set",
                                    "discard-set"])
def test_cross_site_requests_change_nothing_even_on_loopback(client, upload, data_dir, change, attack):
    stored = upload("clean")
    method, path, options = changes(client)[change]
    response = client.request(method, path, **options, headers=CROSS_SITE[attack])
    assert response.status_code in (400, 403), response.text
    assert "\n" not in response.json()["detail"]
    assert_unchanged(client, stored, data_dir)


@pytest.mark.parametrize("attack", sorted(CROSS_SITE))
@pytest.mark.parametrize("path", [INGEST, "/api/live/auth/view"])
def test_cross_site_websockets_are_refused(client, data_dir, path, attack):
    with client.websocket_connect(path, headers=CROSS_SITE[attack]) as socket:
        if path == INGEST:
            socket.send_json(HELLO)
        closed = refusal(socket)
    assert closed.code == 1008 and ("cross-site" in closed.reason or "Host" in closed.reason)
    assert client.get("/api/live").json() == [] and not any((data_dir / "live").iterdir())


def test_control_same_origin_pages_and_clients_without_origin_still_work(make_client):
    client = make_client(token=TOKEN)
    page = client.get(f"/?token={TOKEN}", headers={"Sec-Fetch-Site": "none"})
    assert page.status_code == 200 and "hinge_token" in page.headers["set-cookie"]
    same_origin = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    uploaded = client.post("/api/sessions", files={"file": ("a.csv", recording(), "text/csv")}, headers=same_origin)
    assert uploaded.status_code == 201, uploaded.text
    with client.websocket_connect(f"{INGEST}?token={TOKEN}") as source:  # hinge record: no Origin
        source.send_json(HELLO)
        source.send_json({"type": "ping", "client_time_s": 1.0})
        assert receive_within(source)["type"] == "pong"


def test_control_every_response_carries_the_security_headers(client):
    for path in ("/", "/api/sessions", "/docs", "/static/hinge.css", "/api/nothing"):
        headers = client.get(path).headers
        assert "default-src 'self'" in headers["content-security-policy"], path
        assert "http" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer" and headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("token, reason", [("", "1-200 printable ASCII"), ("s3crét", "not all ASCII"),
                                           ("has space", "without spaces")])
def test_an_unusable_token_stops_the_server_at_start_with_one_line(tmp_path, token, reason):
    result = subprocess.run([sys.executable, "-m", "hinge", "serve", "--port", "0", "--data-dir", str(tmp_path)],
                            env={"HINGE_TOKEN": token, "HINGE_DEMO_DIR": "none", "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("hinge serve: HINGE_TOKEN: ") and reason in result.stderr
    assert result.stderr.count("\n") == 1


def test_the_token_never_reaches_the_server_log(caplog):
    from hinge.server.security import redact_tokens_in_logs

    redact_tokens_in_logs()
    access = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO):
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "POST",
                    f"/api/live/x/sensorlogger?placement=hip&token={TOKEN}", "1.1", 200)
        logging.getLogger("uvicorn.error").info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5",
                                                f"/api/live/ingest?token={TOKEN}")
    assert TOKEN not in caplog.text and "token=***" in caplog.text
