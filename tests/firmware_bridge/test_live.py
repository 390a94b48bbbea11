"""``hinge record --server``: the hinge-live/1 client against an in-process WebSocket server."""

import asyncio
import json

import numpy as np
import pytest
from websockets.asyncio.server import serve

from hinge.analysis.recording_format import read_recording
from hinge.analysis.simulate import simulate_preset
from hinge.firmware_bridge.emulators import HingeImuEmulator, record_emulated, stream_at_rate
from hinge.firmware_bridge.errors import DeviceError
from hinge.firmware_bridge.live import ingest_url


def test_ingest_url_from_the_server_base():
    assert ingest_url("http://localhost:8000/") == ("ws://localhost:8000/api/live/ingest", None)
    assert ingest_url("https://coach.example") == ("wss://coach.example/api/live/ingest", None)
    assert ingest_url("ws://h:1/x") == ("ws://h:1/x", None)
    assert ingest_url("https://h:1/?token=abc&x=1") == ("wss://h:1/api/live/ingest?x=1", "abc")
    with pytest.raises(DeviceError, match="expected an http"):
        ingest_url("localhost:8000")


def test_recorded_samples_reach_the_live_view_in_order(tmp_path):
    motion = simulate_preset("clean", seed=5).recording
    messages: list[dict] = []
    paths: list[str] = []
    authorizations: list[str] = []

    async def handler(socket):
        paths.append(socket.request.path)
        authorizations.append(socket.request.headers.get("Authorization"))
        async for text in socket:
            messages.append(json.loads(text))

    async def scenario_with_server():
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            emulators = {sensor: HingeImuEmulator(stream_at_rate(motion.sensors[sensor], 100), name=f"HNG-{sensor}",
                                                  address=address, seed=i)
                         for i, (sensor, address) in enumerate([("back", "F0:00:00:00:00:01"),
                                                                ("hip", "F0:00:00:00:00:02")])}

            async def scenario(emus):
                while min(e.truth()[0].size for e in emus.values()) < 250:
                    await asyncio.sleep(0.02)

            await record_emulated(tmp_path / "set.csv", emulators, rate_hz=100, scenario=scenario,
                                  server_url=f"http://127.0.0.1:{port}?token=t0ken")
            await asyncio.sleep(0.2)  # let the handler read the last frames

    asyncio.run(scenario_with_server())
    assert paths == ["/api/live/ingest"] and authorizations == ["Bearer t0ken"]  # the token never in the URL
    assert messages[0]["type"] == "hello" and messages[0]["protocol"] == "hinge-live/1"
    assert messages[0]["metadata"]["back_device"] == "F0:00:00:00:00:01"
    assert messages[-1] == {"type": "end"}
    assert any(m["type"] == "status" for m in messages)
    recording = read_recording(tmp_path / "set.csv")
    for sensor, stream in recording.sensors.items():
        sent = [m for m in messages if m["type"] == "samples" and m["sensor"] == sensor]
        time_s = np.concatenate([m["time_s"] for m in sent])
        assert np.allclose(time_s, stream.time_s, atol=1e-6, rtol=0)  # every sample, in order (file: 6 decimals)
        assert np.allclose(np.concatenate([m["acc_mps2"] for m in sent]), stream.acc_mps2, atol=1e-5)


def test_an_unreachable_server_never_holds_the_recording_up(tmp_path):
    motion = simulate_preset("clean", seed=5).recording
    emulator = HingeImuEmulator(stream_at_rate(motion.sensors["back"], 100), name="HNG-back",
                                address="F0:00:00:00:00:01")

    async def scenario(emus):
        while emus["back"].truth()[0].size < 200:
            await asyncio.sleep(0.02)

    recorder = asyncio.run(record_emulated(tmp_path / "set.csv", {"back": emulator}, rate_hz=100,
                                           scenario=scenario, server_url="http://127.0.0.1:9"))
    assert "live view server ws://127.0.0.1:9/api/live/ingest" in recorder.live.last_error
    assert recorder.live.sent_samples == 0
    assert read_recording(tmp_path / "set.csv").sensors["back"].sample_count == emulator.truth()[0].size
