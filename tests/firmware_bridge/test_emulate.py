"""``hinge emulate`` on a Bluetooth controller reached through a real HCI transport (TCP), recorded via bleak."""

import asyncio
import signal
import socket
import subprocess
import sys
from pathlib import Path

from bleak import BleakScanner
from bumble.controller import Controller
from bumble.transport.tcp_server import open_tcp_server_transport_with_socket

from hinge.analysis.recording_format import read_recording
from hinge.firmware_bridge.recorder import Recorder
from hinge.firmware_bridge.virtual_radio import VirtualRadio

ROOT = Path(__file__).resolve().parents[2]
BACK = "F0:00:00:00:00:01"


def test_hinge_emulate_advertises_on_a_controller_and_streams(tmp_path):
    """The emulator process drives a controller (on our virtual link) over HCI-over-TCP, as it would a dongle."""

    async def scenario():
        radio = VirtualRadio()
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        transport = await open_tcp_server_transport_with_socket(listener)
        Controller("dongle", host_source=transport.source, host_sink=transport.sink, link=radio.link)
        process = subprocess.Popen([sys.executable, "-m", "hinge", "emulate", "--transport",
                                    f"tcp-client:127.0.0.1:{port}", "--rate", "100"],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            found: dict = {}
            for _ in range(120):  # the process starts, simulates the preset, powers the controller on
                found = await BleakScanner.discover(timeout=0.5, return_adv=True, backend=radio.scanner_backend)
                if BACK in found or process.poll() is not None:
                    break
            assert BACK in found, process.communicate()
            assert found[BACK][0].name == "HNG-back"
            recorder = Recorder(tmp_path / "emulated.csv", {"back": BACK}, 100,
                                client_options={"backend": radio.client_backend})
            task = asyncio.create_task(recorder.run())
            for _ in range(1200):
                if recorder.links and recorder.links[0].status.samples >= 100:
                    break
                assert not task.done()
                await asyncio.sleep(0.05)
            recorder.stop()
            await task
            process.send_signal(signal.SIGINT)
            for _ in range(400):  # keep the loop (and the controller) running while it shuts down
                if process.poll() is not None:
                    break
                await asyncio.sleep(0.05)
        finally:
            if process.poll() is None:
                process.kill()
            stdout, stderr = process.communicate()
            transport.server.close()
            await transport.server.wait_closed()
        return process.returncode, stdout, stderr

    returncode, stdout, stderr = asyncio.run(scenario())
    assert returncode == 0, stderr
    assert f"HNG-back (hinge-imu) advertising as {BACK}" in stdout
    assert read_recording(tmp_path / "emulated.csv").sensors["back"].sample_count >= 100
