"""``hinge scan``, ``hinge record`` and ``hinge emulate``: live capture from BLE wearables.

``--virtual PRESET`` runs the same commands against emulated wearables (fed by the simulator) on an
in-process Bumble link: a demo without hardware, and what the tests drive.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from contextlib import AsyncExitStack
from typing import Any

from bleak import BleakScanner
from bleak.exc import BleakError

from .devices import kind_from_advertisement
from .emulators import DEMO_ADDRESSES, EMULATORS, demo_emulators
from .errors import DeviceError
from .recorder import Recorder, SensorStatus


def register(subparsers: argparse._SubParsersAction) -> None:
    scan = subparsers.add_parser("scan", help="list nearby supported BLE wearables",
                                 description="List nearby hinge-imu, WitMotion and Movesense wearables.")
    scan.add_argument("--timeout", type=float, default=5.0, metavar="S", help="seconds to listen (default 5)")
    scan.add_argument("--all", action="store_true", help="also list devices of unsupported kinds")
    _add_virtual(scan)
    scan.set_defaults(handler=run_scan)

    record = subparsers.add_parser(
        "record", help="record a set from one or two BLE wearables",
        description="Connect to the back and/or hip wearable, stream, and write a hinge-recording/1 file "
                    "incrementally (fsync-ed every 0.5 s). Ctrl-C finishes the file; dropped links reconnect.")
    record.add_argument("--back", metavar="ADDR", help="address of the upper-back wearable (see `hinge scan`)")
    record.add_argument("--hip", metavar="ADDR", help="address of the hip (belt / sacrum) wearable")
    record.add_argument("-o", "--output", metavar="FILE", help="default: recording-YYYYmmdd-HHMMSS.csv")
    record.add_argument("--rate", type=float, default=200.0, metavar="HZ",
                        help="requested output rate; each device picks its nearest supported rate (default 200)")
    record.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: until Ctrl-C)")
    record.add_argument("--server", metavar="URL",
                        help="also stream to the server's live view, e.g. http://localhost:8000 "
                             "(docs/live-protocol.md; best effort, the file is the record)")
    _add_virtual(record)
    record.set_defaults(handler=run_record)

    emulate = subparsers.add_parser(
        "emulate", help="run emulated wearables on Bluetooth controllers (demos)",
        description="Advertise emulated wearables fed by the simulator on real Bluetooth controllers through "
                    "Bumble transports, one controller per wearable (back first, then hip), e.g. "
                    "`hinge emulate --transport usb:0 --transport usb:1`. Another machine can then "
                    "`hinge scan` and `hinge record` them.")
    emulate.add_argument("--transport", action="append", required=True, metavar="SPEC",
                         help="Bumble transport of a controller the host may take over (usb:0, serial:/dev/ttyACM0,"
                              " tcp-client:127.0.0.1:9000, ...)")
    emulate.add_argument("--kind", choices=sorted(EMULATORS), default="hinge-imu",
                         help="device protocol to emulate (default hinge-imu)")
    emulate.add_argument("--preset", default="clean", help="simulator preset to play (default clean)")
    emulate.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    emulate.add_argument("--rate", type=float, default=200.0, metavar="HZ", help="emulated IMU rate (default 200)")
    emulate.set_defaults(handler=run_emulate)


def _add_virtual(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--virtual", metavar="PRESET",
                        help="use emulated hinge-imu wearables playing this simulator preset on an in-process "
                             f"virtual link (back at {DEMO_ADDRESSES['back']}, hip at {DEMO_ADDRESSES['hip']})")
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)


# ------------------------------------------------------------------------------------------------- scan


def run_scan(args: argparse.Namespace) -> int:
    found = asyncio.run(_with_virtual(args, _scan, rate_hz=200.0))
    rows = [(kind_from_advertisement(adv.local_name, adv.service_uuids), device.address, device.name or "", adv.rssi)
            for device, adv in found.values()]
    rows = sorted((r for r in rows if r[0] or args.all), key=lambda r: -r[3])
    if not rows:
        print(f"no supported wearables found in {args.timeout:g} s")
        return 1
    print(f"{'kind':10} {'address':20} {'name':24} rssi")
    for kind, address, name, rssi in rows:
        print(f"{kind or '-':10} {address:20} {name:24} {rssi} dBm")
    return 0


async def _scan(args: argparse.Namespace, backends: dict[str, Any]) -> dict:
    try:
        return await BleakScanner.discover(timeout=args.timeout, return_adv=True,
                                           **({"backend": backends["scanner"]} if backends else {}))
    except (BleakError, OSError) as error:
        raise DeviceError(f"Bluetooth is not available: {getattr(error, 'strerror', None) or error}") from None


# ------------------------------------------------------------------------------------------------- record


def run_record(args: argparse.Namespace) -> int:
    if args.virtual:
        args.back = args.back or DEMO_ADDRESSES["back"]
        args.hip = args.hip or DEMO_ADDRESSES["hip"]
    sensors = {name: address for name, address in (("back", args.back), ("hip", args.hip)) if address}
    if not sensors:
        raise DeviceError("give --back ADDR and/or --hip ADDR (find addresses with `hinge scan`)")
    output = args.output or time.strftime("recording-%Y%m%d-%H%M%S.csv")
    recorder = asyncio.run(_with_virtual(args, _record, rate_hz=args.rate, sensors=sensors, output=output))
    print(file=sys.stderr)
    for link in recorder.links:
        status = link.status
        note = f" (last error: {status.last_error})" if status.samples == 0 and status.last_error else ""
        print(f"{status.sensor}: {status.samples} samples from {status.kind} {status.address}, lost "
              f"{status.lost_packets} packets, {status.reconnects} reconnects{note}")
    if recorder.live and recorder.live.last_error:
        print(f"live view: not all samples were streamed ({recorder.live.last_error})", file=sys.stderr)
    if not any(link.status.samples for link in recorder.links):
        raise DeviceError("no samples were received, so no file was written")
    print(f"wrote {output}")
    return 0


async def _record(args: argparse.Namespace, backends: dict[str, Any], *, sensors: dict[str, str],
                  output: str) -> Recorder:
    recorder = Recorder(output, sensors, args.rate, on_status=_print_status, server_url=args.server,
                        client_options={"backend": backends["client"]} if backends else {},
                        metadata={"synthetic": "true", "virtual_preset": args.virtual} if args.virtual else {})
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, recorder.stop)
    if args.duration:
        loop.call_later(args.duration, recorder.stop)
    await recorder.run()
    return recorder


def _print_status(statuses: list[SensorStatus]) -> None:
    line = " | ".join(status.line() for status in statuses)
    if sys.stderr.isatty():
        print(f"\r{line}\033[K", end="", file=sys.stderr, flush=True)
    else:
        print(line, file=sys.stderr, flush=True)


async def _with_virtual(args: argparse.Namespace, action, *, rate_hz: float, **kwargs):
    """Run ``action(args, backends, **kwargs)``; with ``--virtual``, on a virtual link with emulators."""
    if not args.virtual:
        return await action(args, {}, **kwargs)
    from .virtual_radio import VirtualRadio

    radio = VirtualRadio()
    emulators = demo_emulators(args.virtual, seed=args.seed, kind="hinge-imu", rate_hz=rate_hz)
    async with AsyncExitStack() as stack:
        for emulator in emulators.values():
            await emulator.attach(radio.new_device(emulator.name, emulator.address))
            stack.push_async_callback(emulator.close)
        return await action(args, {"client": radio.client_backend, "scanner": radio.scanner_backend}, **kwargs)


# ------------------------------------------------------------------------------------------------- emulate


def run_emulate(args: argparse.Namespace) -> int:
    asyncio.run(_emulate(args))
    return 0


async def _emulate(args: argparse.Namespace) -> None:
    from bumble.device import Device
    from bumble.hci import Address
    from bumble.transport import open_transport

    emulators = list(demo_emulators(args.preset, seed=args.seed, kind=args.kind, rate_hz=args.rate).values())
    if len(args.transport) > len(emulators):
        raise DeviceError(f"preset {args.preset} has {len(emulators)} sensors; give at most that many --transport")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with AsyncExitStack() as stack:
        for spec, emulator in zip(args.transport, emulators):
            try:
                transport = await stack.enter_async_context(await open_transport(spec))
            except Exception as error:  # Bumble raises many kinds (USB, serial, sockets); one line each
                raise DeviceError(f"cannot open Bluetooth transport {spec!r}: {error}") from None
            device = Device.with_hci(emulator.name, Address(emulator.address), transport.source, transport.sink)
            await emulator.attach(device)
            stack.push_async_callback(emulator.close)
            print(f"{emulator.name} ({args.kind}) advertising as {emulator.address} on {spec}")
        await stop.wait()
