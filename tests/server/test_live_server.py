"""Live ingest against a real ``hinge serve`` (uvicorn): a killed server leaves a readable recording with every
acknowledged sample; ``--https`` off loopback makes a certificate and a token, prints both URLs and a QR code,
and refuses ingest and uploads without the token."""

from __future__ import annotations

import json
import re
import ssl
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from cryptography import x509
from live_helpers import batches, hello
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect

from hinge.analysis.recording_format import read_recording
from hinge.analysis.simulate import simulate_preset

WAIT_S = 120.0  # deadline of every wait on the server (never reached on an idle machine)


def test_a_killed_server_leaves_every_acknowledged_sample_readable_and_storable(live_server, tmp_path):
    server = live_server()
    recording = simulate_preset("clean", seed=6).recording
    messages = [dict(m, seq=i) for i, m in enumerate(batches(recording, batch_s=0.1))]
    acknowledged = {"back": 0, "hip": 0}
    with connect(f"ws://127.0.0.1:{server.port}/api/live/ingest", open_timeout=WAIT_S) as socket:
        socket.send(json.dumps(hello("crash", source_id="phone-crash")))
        for message in messages[:300]:
            socket.send(json.dumps(message))
            assert json.loads(socket.recv(timeout=WAIT_S)) == {"type": "ack", "seq": message["seq"]}
            acknowledged[message["sensor"]] += len(message["time_s"])
        server.process.kill()
        server.process.wait(timeout=WAIT_S)
    written = read_recording(tmp_path / "live-data" / "live" / "crash.csv")
    assert written.metadata["back_device"] == "test-back"
    for sensor, count in acknowledged.items():
        assert written.sensors[sensor].sample_count == count
        assert np.allclose(written.sensors[sensor].time_s, recording.sensors[sensor].time_s[:count], atol=1e-6, rtol=0)

    # started again: the interrupted set is listed and can be stored; its id cannot be streamed into again
    server = live_server()
    with urllib.request.urlopen(f"{server.url}live") as response:
        assert "crash <button" in response.read().decode()
    with connect(f"ws://127.0.0.1:{server.port}/api/live/ingest", open_timeout=WAIT_S) as socket:
        socket.send(json.dumps(hello("crash")))
        with pytest.raises(ConnectionClosedError) as closed:
            socket.recv(timeout=WAIT_S)
    assert closed.value.rcvd.code == 1008 and "was interrupted" in closed.value.rcvd.reason
    request = urllib.request.Request(f"{server.url}api/live/crash/end", method="POST")
    with urllib.request.urlopen(request) as response:
        stored = json.load(response)
    assert stored["report"]["recording"]["sensors"]["hip"]["sample_count"] == acknowledged["hip"]
    assert not (tmp_path / "live-data" / "live" / "crash.csv").exists()


def test_https_off_loopback_needs_the_token_it_prints(live_server, simulated, tmp_path):
    server = live_server(args=("--https", "--host", "0.0.0.0"))
    opened = server.printed[-1]
    match = re.match(r"hinge: open https://([\d.]+):(\d+)/\?token=([\w-]+) \(0 sessions in ", opened)
    assert match, opened
    address, token = match.group(1), match.group(3)
    assert server.wait_for_line("hinge: access token") == (
        f"hinge: access token {token} (ingest and changes need it; the URLs carry it)")
    phone_line = server.wait_for_line("hinge: phone as a sensor")
    assert f"https://{address}:{server.port}/phone?token={token} " in phone_line
    qr_lines = [server.process.stdout.readline() for _ in range(5)]
    assert all(set(line.strip()) <= set("█▀▄ \u00a0") and line.strip() for line in qr_lines[1:])

    cert_path = tmp_path / "live-data" / "tls" / "cert.pem"
    names = x509.load_pem_x509_certificate(cert_path.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} >= {address, "127.0.0.1"}
    context = ssl.create_default_context(cafile=str(cert_path))
    base = f"https://127.0.0.1:{server.port}/"
    with urllib.request.urlopen(base, context=context) as response:
        assert response.status == 200

    def upload(headers: dict[str, str]) -> int:
        boundary = "b0undary"
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="s.csv"\r\n\r\n'.encode()
                + simulated("clean") + f"\r\n--{boundary}--\r\n".encode())
        request = urllib.request.Request(f"{base}api/sessions", data=body, method="POST", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}", **headers})
        try:
            with urllib.request.urlopen(request, context=context) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    assert upload({}) == 401
    assert upload({"Authorization": f"Bearer {token}"}) == 201
    with (connect(f"wss://127.0.0.1:{server.port}/api/live/ingest", ssl=context, open_timeout=WAIT_S) as socket,
          pytest.raises(ConnectionClosedError) as closed):
        socket.recv(timeout=WAIT_S)
    assert closed.value.rcvd.code == 1008 and "needs its access token" in closed.value.rcvd.reason
    with connect(f"wss://127.0.0.1:{server.port}/api/live/ingest?token={token}", ssl=context,
                 open_timeout=WAIT_S) as socket:
        socket.send(json.dumps(hello("tls")))
        socket.send(json.dumps({"type": "ping", "client_time_s": 1.0}))
        assert json.loads(socket.recv(timeout=WAIT_S))["type"] == "pong"


def test_hinge_record_server_streams_into_a_live_session(live_server, tmp_path):
    """The BLE recorder's client (firmware_bridge.live) against the real endpoint: every recorded sample arrives."""
    import asyncio

    from hinge.firmware_bridge.emulators import HingeImuEmulator, record_emulated, stream_at_rate

    server = live_server()
    motion = simulate_preset("clean", seed=5).recording
    emulators = {sensor: HingeImuEmulator(stream_at_rate(motion.sensors[sensor], 100), name=f"HNG-{sensor}",
                                          address=address, seed=i)
                 for i, (sensor, address) in enumerate([("back", "F0:00:00:00:00:01"), ("hip", "F0:00:00:00:00:02")])}

    async def scenario(emus):
        while min(e.truth()[0].size for e in emus.values()) < 300:
            await asyncio.sleep(0.02)

    asyncio.run(record_emulated(tmp_path / "set.csv", emulators, rate_hz=100, scenario=scenario,
                                server_url=server.url))
    recorded = read_recording(tmp_path / "set.csv")
    deadline = time.monotonic() + WAIT_S
    while True:  # the server handles a connection's messages in order: 'end' comes last
        with urllib.request.urlopen(f"{server.url}api/live") as response:
            (live,) = json.load(response)
        if not live["sources"][0]["connected"]:
            break
        assert time.monotonic() < deadline, "the recorder's 'end' never arrived"
        time.sleep(0.1)
    assert {name: s["sample_count"] for name, s in live["sensors"].items()} == {
        name: s.sample_count for name, s in recorded.sensors.items()}
    assert live["sources"][0]["status"]  # the recorder's status messages were kept
    streamed = read_recording(tmp_path / "live-data" / "live" / f"{live['id']}.csv")
    assert streamed.metadata["back_device"] == "F0:00:00:00:00:01"
    for name, stream in recorded.sensors.items():
        assert np.allclose(streamed.sensors[name].time_s, stream.time_s, atol=1e-6, rtol=0)
