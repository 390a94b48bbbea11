"""Emulated wearables: Bumble GATT servers that play a recorded or simulated :class:`SensorStream` in real time.

Each emulator speaks one device protocol (:mod:`firmware_bridge.devices`) through a Bumble ``Device``: on the
in-process :class:`~firmware_bridge.virtual_radio.VirtualRadio` in tests and benchmarks, or on a real controller
with ``hinge emulate``. The emulated IMU samples the source at the source's own rate on its own clock, which may
run fast or slow (``drift_ppm``); notifications may be delayed (``jitter_s``, in order, like connection events)
or dropped (``loss_probability``). Every delivered sample is logged as ground truth: its index in the source and
the host time at which the emulated IMU measured it (:meth:`EmulatedWearable.truth`).
"""

from __future__ import annotations

import abc
import asyncio
import math
from collections.abc import Mapping

import numpy as np
from bumble import gatt
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device

from hinge.analysis.recording import SensorStream

from .clock import host_time_s
from .devices import hinge_imu, movesense, witmotion

BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"


def stream_at_rate(stream: SensorStream, rate_hz: float, *, start_s: float = 0.0,
                   duration_s: float | None = None) -> SensorStream:
    """The motion of ``stream`` as an IMU at ``rate_hz`` would sample it (linear interpolation), time from 0 s."""
    t = stream.time_s - stream.time_s[0]
    end_s = t[-1] if duration_s is None else min(t[-1], start_s + duration_s)
    new_t = np.arange(start_s, end_s, 1.0 / rate_hz)
    columns = [np.interp(new_t, t, values[:, axis]) for values in (stream.acc_mps2, stream.gyr_radps)
               for axis in range(3)]
    return SensorStream(new_t - start_s, np.column_stack(columns[:3]), np.column_stack(columns[3:]))


class EmulatedWearable(abc.ABC):
    """One emulated device. Subclasses define the GATT services, the start trigger and the packet encoding.

    Parameters
    ----------
    stream : the motion to play (looped if too short); its median sample interval is the emulated IMU's rate
        until a rate command asks for another one (then the IMU samples the source at that rate).
    name, address : advertised name and random static address (``"F0:00:00:00:00:01"``).
    drift_ppm : device clock error; the IMU samples every ``1 / (rate * (1 + drift))`` host seconds.
    jitter_s : each notification leaves up to this much later than its last sample (uniform), in order.
    loss_probability : chance that a notification is dropped (the device's sequence number still advances).
    battery_percent : Battery Service level (devices with a Battery Service only).
    seed : seeds jitter and loss.
    """

    def __init__(self, stream: SensorStream, *, name: str, address: str, drift_ppm: float = 0.0,
                 jitter_s: float = 0.0, loss_probability: float = 0.0, battery_percent: int = 87,
                 seed: int = 0, play_from_s: float | None = None) -> None:
        self.source = self.stream = stream
        self.name, self.address = name, address
        self.rate_hz = float(1.0 / np.median(np.diff(stream.time_s)))
        self.drift = drift_ppm * 1e-6
        self.jitter_s, self.loss_probability = jitter_s, loss_probability
        self.battery_percent = battery_percent
        self._rng = np.random.default_rng(seed)
        self._data: gatt.Characteristic  # the notifying data characteristic, made by each subclass
        self.device: Device  # set by attach()
        self._epoch_s = 0.0  # host time of power-on, when the device clock read _device_offset_s
        self._device_offset_s = 1000.0 + 100.0 * self._rng.uniform()  # device clock at power-on (arbitrary)
        self._task: asyncio.Task | None = None
        self._sending: set[asyncio.Future] = set()  # packets being notified (they finish even if streaming stops)
        self._truth_index: list[np.ndarray] = []
        self._truth_time: list[np.ndarray] = []
        self.dropped_packets = 0
        self.play_from_s = play_from_s  # host time of the source's first sample (None: power-on)
        self.notifications_sent = 0

    # ------------------------------------------------------------------------------------------ public

    async def attach(self, device: Device) -> None:
        """Install the services on ``device``, power it on and advertise (reconnectable)."""
        self.device = device
        device.add_services(self._services())
        device.advertising_data = self._advertising_data()
        device.on(Device.EVENT_CONNECTION, self._on_connection)
        await device.power_on()
        self._epoch_s = host_time_s()
        await self.advertise()

    async def advertise(self) -> None:
        await self.device.start_advertising(auto_restart=True, advertising_interval_min=20.0,
                                            advertising_interval_max=20.0)

    async def drop_link(self, *, away_s: float) -> None:
        """Peripheral-side disconnect, then stay silent for ``away_s`` before advertising again.

        The device stops streaming and finishes the packet it is sending before it disconnects (as the firmware
        does), so every packet logged as delivered went out on a live link: one notified while the link went
        down would be logged yet never arrive."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await asyncio.gather(*self._sending, return_exceptions=True)
        await self.device.stop_advertising()
        for connection in list(self.device.connections.values()):
            await connection.disconnect()
        await asyncio.sleep(away_s)
        await self.advertise()

    async def close(self) -> None:
        self.stop_streaming()
        await self.device.stop_advertising()
        for connection in list(self.device.connections.values()):
            await connection.disconnect()
        await self.device.power_off()

    def set_rate(self, rate_hz: float) -> None:
        """Sample the source at ``rate_hz`` from now on (as a rate command on the real device does)."""
        if abs(rate_hz - self.rate_hz) > 1e-9:
            self.stream, self.rate_hz = stream_at_rate(self.source, rate_hz), float(rate_hz)

    def truth(self) -> tuple[np.ndarray, np.ndarray]:
        """(source sample index (m,), host time the sample was measured, s (m,)) of every delivered sample."""
        if not self._truth_index:
            return np.zeros(0, int), np.zeros(0)
        return np.concatenate(self._truth_index), np.concatenate(self._truth_time)

    def device_time_s(self, host_s: float) -> float:
        """The device clock at host time ``host_s``."""
        return self._device_offset_s + (host_s - self._epoch_s) * (1.0 + self.drift)

    def host_time_of_sample(self, k: np.ndarray) -> np.ndarray:
        """Host time at which device sample ``k`` (counted from device clock 0) is measured."""
        return self._epoch_s + (np.asarray(k) / self.rate_hz - self._device_offset_s) / (1.0 + self.drift)

    # ------------------------------------------------------------------------------------------ streaming

    def start_streaming(self, samples_per_packet: int) -> None:
        self.stop_streaming()
        self._task = asyncio.get_running_loop().create_task(self._stream(samples_per_packet))

    def stop_streaming(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _stream(self, samples_per_packet: int) -> None:
        k = math.ceil(self.device_time_s(host_time_s()) * self.rate_hz)  # next device sample number
        # the device sample measured when the source's first sample plays: emulators given one play_from_s
        # play the same instant of the source at the same host time, whenever each starts streaming
        start_s = self._epoch_s if self.play_from_s is None else self.play_from_s
        first_k = math.ceil(self.device_time_s(start_s) * self.rate_hz)
        send_at = 0.0
        while True:
            ks = np.arange(k, k + samples_per_packet)
            measured_s = self.host_time_of_sample(ks)
            send_at = max(send_at, measured_s[-1] + self._rng.uniform(0.0, self.jitter_s))
            await asyncio.sleep(max(0.0, send_at - host_time_s()))
            index = (ks - first_k) % self.stream.sample_count
            payload = self._packet(ks, index)
            if self._rng.uniform() < self.loss_probability:
                self.dropped_packets += 1
            elif self.device.connections:
                # logged first: once called, the packet's notifications go out even if this task is cancelled
                # (several are shielded: a real device never stops inside a packet)
                self._truth_index.append(index)
                self._truth_time.append(measured_s)
                sending = asyncio.ensure_future(self._send(self._notifications(payload)))
                self._sending.add(sending)
                sending.add_done_callback(self._sending.discard)
                await asyncio.shield(sending)
            k += samples_per_packet

    async def _send(self, notifications: list[bytes]) -> None:
        for notification in notifications:
            await self.device.notify_subscribers(self._data, notification)
            self.notifications_sent += 1

    def _on_connection(self, connection: Connection) -> None:
        connection.on(Connection.EVENT_DISCONNECTION, lambda _reason: self.stop_streaming())

    async def set_battery(self, percent: int) -> None:
        """Change the battery level and notify subscribers (as the firmware does every 30 s)."""
        self.battery_percent = percent
        await self.device.notify_subscribers(self._battery_level, bytes([percent]))

    def _battery_service(self) -> gatt.Service:
        self._battery_level: gatt.Characteristic[bytes] = gatt.Characteristic(
            gatt.GATT_BATTERY_LEVEL_CHARACTERISTIC,
            gatt.Characteristic.Properties.READ | gatt.Characteristic.Properties.NOTIFY, gatt.Characteristic.READABLE,
            gatt.CharacteristicValue(read=lambda _c: bytes([self.battery_percent])))
        return gatt.Service(BATTERY_SERVICE_UUID, [self._battery_level])

    @abc.abstractmethod
    def _services(self) -> list[gatt.Service]: ...

    @abc.abstractmethod
    def _advertising_data(self) -> bytes: ...

    @abc.abstractmethod
    def _packet(self, device_sample: np.ndarray, index: np.ndarray) -> bytes:
        """One packet for device samples ``device_sample`` holding source samples ``index``."""

    def _notifications(self, packet: bytes) -> list[bytes]:
        """The notifications that carry one packet (one, unless the device splits packets for the link)."""
        return [packet]


def _notifying(uuid: str) -> gatt.Characteristic[bytes]:
    return gatt.Characteristic(uuid, gatt.Characteristic.Properties.NOTIFY, gatt.Characteristic.Permissions(0), b"")


def _command_sink(uuid: str, on_write) -> gatt.Characteristic:
    """A characteristic taking writes with or without response, handled by ``on_write(connection, value)``."""
    return gatt.Characteristic(
        uuid, gatt.Characteristic.Properties.WRITE | gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
        gatt.Characteristic.WRITEABLE, gatt.CharacteristicValue(write=on_write))


def _advertising(name: str, *uuid_field: tuple[int, bytes]) -> bytes:
    """Flags, optional service UUID list field ``(type, bytes)``, complete local name."""
    return bytes(AdvertisingData([(AdvertisingData.FLAGS, bytes([0x06])), *uuid_field,
                                  (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode())]))


class HingeImuEmulator(EmulatedWearable):
    """The reference firmware's behaviour (``firmware/hinge_imu_xiao``): hinge-imu profile + Battery Service."""

    FIRMWARE = "emulator-1.0"

    def __init__(self, stream: SensorStream, **options) -> None:
        super().__init__(stream, **options)
        self.acc_range_g, self.gyr_range_dps = 16, 2000
        self._seq = 0
        self._data = _notifying(hinge_imu.DATA_UUID)
        self._control: gatt.Characteristic[bytes] = gatt.Characteristic(
            hinge_imu.CONTROL_UUID, gatt.Characteristic.Properties.WRITE | gatt.Characteristic.Properties.NOTIFY,
            gatt.Characteristic.WRITEABLE, gatt.CharacteristicValue(write=self._on_command))

    @property
    def streaming(self) -> bool:
        return self._task is not None

    def _services(self) -> list[gatt.Service]:
        info: gatt.Characteristic[bytes] = gatt.Characteristic(
            hinge_imu.INFO_UUID, gatt.Characteristic.Properties.READ, gatt.Characteristic.READABLE,
            gatt.CharacteristicValue(read=self._info))
        return [gatt.Service(hinge_imu.SERVICE_UUID, [self._data, info, self._control]), self._battery_service()]

    def _advertising_data(self) -> bytes:
        return _advertising(self.name[:8], (AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                                            UUID(hinge_imu.SERVICE_UUID).to_bytes()))

    def _info(self, _connection) -> bytes:
        return hinge_imu.encode_info(hinge_imu.Info(self.acc_range_g, self.gyr_range_dps, self.rate_hz,
                                                    self.streaming, self.FIRMWARE))

    def _on_command(self, _connection, value: bytes) -> None:
        command, arguments = hinge_imu.decode_command(value)
        status, extra = hinge_imu.STATUS_OK, {}
        if command in (hinge_imu.CMD_SET_RATE, hinge_imu.CMD_SET_RANGE) and self.streaming:
            status = hinge_imu.STATUS_BUSY
        elif command == hinge_imu.CMD_START:
            self.start_streaming(min(hinge_imu.MAX_SAMPLES_PER_PACKET, max(1, round(self.rate_hz / 50))))
        elif command == hinge_imu.CMD_STOP:
            self.stop_streaming()
        elif command == hinge_imu.CMD_SET_RATE and arguments:
            self.set_rate(arguments[0])
        elif command == hinge_imu.CMD_SET_RANGE and arguments:
            if arguments[0] in hinge_imu.ACC_RANGES_G and arguments[1] in hinge_imu.GYR_RANGES_DPS:
                self.acc_range_g, self.gyr_range_dps = arguments
            else:
                status = hinge_imu.STATUS_BAD_ARGUMENT
        elif command == hinge_imu.CMD_PING and arguments:
            extra = {"token": arguments[0], "device_time_us": round(self.device_time_s(host_time_s()) * 1e6)}
        elif command in hinge_imu.COMMAND_ARGUMENTS:
            status = hinge_imu.STATUS_BAD_ARGUMENT
        else:
            status = hinge_imu.STATUS_UNKNOWN_COMMAND
        reply = hinge_imu.encode_reply(command, status, **extra)
        asyncio.get_running_loop().create_task(self.device.notify_subscribers(self._control, reply))

    def _packet(self, device_sample: np.ndarray, index: np.ndarray) -> bytes:
        counts = hinge_imu.to_counts(self.stream.acc_mps2[index], self.stream.gyr_radps[index],
                                     acc_range_g=self.acc_range_g, gyr_range_dps=self.gyr_range_dps)
        t_first_us = round(device_sample[0] / self.rate_hz * 1e6)
        packet = hinge_imu.encode_data(self._seq, t_first_us, round(1e6 / self.rate_hz), counts)
        self._seq += 1
        return packet


class WitMotionEmulator(EmulatedWearable):
    """A WT901BLECL: streams 0x55 0x61 frames, one per notification, as soon as notifications are enabled."""

    def __init__(self, stream: SensorStream, **options) -> None:
        super().__init__(stream, **options)
        self._data = _notifying(witmotion.NOTIFY_UUID)
        self._data.on(gatt.Characteristic.EVENT_SUBSCRIPTION, self._on_subscription)

    def _services(self) -> list[gatt.Service]:
        command = _command_sink(witmotion.WRITE_UUID, self._on_command)
        return [gatt.Service(witmotion.SERVICE_UUID, [self._data, command])]

    def _advertising_data(self) -> bytes:
        return _advertising(self.name)  # WT901BLE modules are recognised by their "WT…" name

    def _on_subscription(self, _bearer, notify_enabled: bool, _indicate_enabled: bool) -> None:
        if notify_enabled:
            self.start_streaming(1)
        else:
            self.stop_streaming()

    def _on_command(self, _connection, value: bytes) -> None:
        rate = witmotion.rate_from_command(value)
        if rate is not None:
            self.set_rate(rate)

    def _packet(self, device_sample: np.ndarray, index: np.ndarray) -> bytes:
        acc = self.stream.acc_mps2[index[0]]
        angle_deg = np.degrees([math.atan2(acc[1], acc[2]), math.atan2(-acc[0], math.hypot(acc[1], acc[2])), 0.0])
        return witmotion.encode_frame(acc, self.stream.gyr_radps[index[0]], angle_deg)


class MovesenseEmulator(EmulatedWearable):
    """A Movesense running the gatt_sensordata_app: IMU6 batches of ``rate / 13`` samples after a
    ``/Meas/IMU6/<rate>`` subscription, over a link of at most :data:`~devices.movesense.MAX_ATT_MTU` (161), so
    batches of more than 6 samples leave as DATA + DATA_PART2 (+ DATA_PART3) notifications of up to 158 bytes,
    as the real firmware sends them."""

    async def attach(self, device: Device) -> None:
        device.gatt_server.max_mtu = movesense.MAX_ATT_MTU
        await super().attach(device)

    def __init__(self, stream: SensorStream, **options) -> None:
        super().__init__(stream, **options)
        self.subscribed_path: str | None = None
        self._reference = 0
        self._data = _notifying(movesense.NOTIFY_UUID)

    def _services(self) -> list[gatt.Service]:
        command = _command_sink(movesense.WRITE_UUID, self._on_command)
        return [gatt.Service(movesense.SERVICE_UUID, [command, self._data])]

    def _advertising_data(self) -> bytes:
        return _advertising(self.name, (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                                        UUID.from_16_bits(0xFDF3).to_bytes()))

    def _on_command(self, _connection, value: bytes) -> None:
        subscription = movesense.parse_subscription(value)
        if subscription is not None and subscription[1].lstrip("/").startswith("Meas/IMU6/") \
                and subscription[1].rsplit("/", 1)[1].isdigit():
            self._reference, self.subscribed_path = subscription
            self.set_rate(float(subscription[1].rsplit("/", 1)[1]))
            self.start_streaming(max(1, round(self.rate_hz / 13)))
        elif value[:1] == bytes([movesense.CMD_UNSUBSCRIBE]):
            self.stop_streaming()

    def _packet(self, device_sample: np.ndarray, index: np.ndarray) -> bytes:
        timestamp_ms = math.floor(device_sample[0] / self.rate_hz * 1000.0)
        return movesense.encode_data(self._reference, timestamp_ms, self.stream.acc_mps2[index],
                                     np.degrees(self.stream.gyr_radps[index]))

    def _notifications(self, packet: bytes) -> list[bytes]:
        mtu = min((c.att_mtu for c in self.device.connections.values()), default=movesense.MAX_ATT_MTU)
        return movesense.split_notifications(packet, max_bytes=mtu - 3)


EMULATORS: dict[str, type[EmulatedWearable]] = {
    "hinge-imu": HingeImuEmulator, "witmotion": WitMotionEmulator, "movesense": MovesenseEmulator}
DEMO_ADDRESSES = {"back": "F0:00:00:00:00:01", "hip": "F0:00:00:00:00:02"}
_DEMO_NAMES = {"hinge-imu": "HNG-{sensor}", "witmotion": "WT901BLE-{sensor}", "movesense": "Movesense {sensor}"}


def demo_emulators(preset: str, *, seed: int, kind: str, rate_hz: float) -> dict[str, EmulatedWearable]:
    """One emulator per sensor of a simulator preset (``clean``, …), at :data:`DEMO_ADDRESSES`."""
    from hinge.analysis.simulate import simulate_preset

    recording = simulate_preset(preset, seed=seed).recording
    play_from_s = host_time_s()  # both sensors play the set from the same instant (back and hip in step)
    return {sensor: EMULATORS[kind](stream_at_rate(stream, rate_hz), name=_DEMO_NAMES[kind].format(sensor=sensor),
                                    address=DEMO_ADDRESSES[sensor], seed=seed + i, play_from_s=play_from_s)
            for i, (sensor, stream) in enumerate(recording.sensors.items())}


IN_FLIGHT_DEADLINE_S = 30.0


async def record_emulated(path, emulators: Mapping[str, EmulatedWearable], *, rate_hz: float, scenario,
                          server_url: str | None = None):
    """Record ``emulators`` (sensor → emulator) through bleak on a fresh virtual link while the coroutine
    ``scenario(emulators)`` runs; then stop the devices, let notifications in flight land, stop the recorder.
    Returns the finished :class:`~firmware_bridge.recorder.Recorder`."""
    from .recorder import Recorder
    from .virtual_radio import VirtualRadio

    radio = VirtualRadio()
    for emulator in emulators.values():
        await emulator.attach(radio.new_device(emulator.name, emulator.address))
    recorder = Recorder(path, {name: e.address for name, e in emulators.items()}, rate_hz,
                        client_options={"backend": radio.client_backend}, server_url=server_url)
    task = asyncio.create_task(recorder.run())
    await scenario(emulators)
    for emulator in emulators.values():
        emulator.stop_streaming()
    # let the notifications in flight land and settle: wait (on a busy machine, as long as it takes within a
    # generous deadline) until the recorder has written every sample the devices sent
    deadline_s = asyncio.get_running_loop().time() + IN_FLIGHT_DEADLINE_S
    while not task.done() and asyncio.get_running_loop().time() < deadline_s and any(
            link.status.samples < emulators[link.sensor].truth()[0].size for link in recorder.links):
        await asyncio.sleep(0.02)
    recorder.stop()
    await task
    for emulator in emulators.values():
        await emulator.close()
    return recorder
