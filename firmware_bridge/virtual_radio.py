"""A bleak backend on Google's Bumble: central and emulated wearables on one in-process virtual BLE link.

``radio = VirtualRadio()`` is the "air". ``BleakClient(address, backend=radio.client_backend)`` and
``BleakScanner(backend=radio.scanner_backend)`` are the real bleak facades driving a Bumble central; emulated
peripherals (:mod:`firmware_bridge.emulators`) are Bumble GATT servers made with :meth:`VirtualRadio.new_device`.
Every packet goes through Bumble's host stack (HCI, L2CAP, ATT, GATT) and its link-layer controller model.

Notes
-----
- Bumble objects bind to the running event loop: everything is created inside async methods.
- Notifications are cut to ``MTU - 3`` bytes: every connection exchanges an ATT MTU of 247 right away.
- Bumble's controller model never completes a cancelled connection attempt, so a connect to an address nobody
  advertises would hang; :class:`_Controller` answers LE Create Connection Cancel as the Core specification
  says (Vol 4, Part E, 7.8.13: an LE Connection Complete event with status Unknown Connection Identifier),
  and :meth:`BumbleClient.connect` first waits for an advertisement, as bleak does on every platform when given
  an address string (``BleakDeviceNotFoundError`` when none arrives within the timeout).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar

from bleak.assigned_numbers import CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bleak.uuids import normalize_uuid_str
from bumble import hci
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData, BaseBumbleError
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import Characteristic
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

ATT_MTU = 247
CENTRAL_ADDRESS = "C0:00:00:00:00:01"

_PROPERTY_NAMES: dict[int, CharacteristicPropertyName] = {
    Characteristic.Properties.BROADCAST: "broadcast",
    Characteristic.Properties.READ: "read",
    Characteristic.Properties.WRITE_WITHOUT_RESPONSE: "write-without-response",
    Characteristic.Properties.WRITE: "write",
    Characteristic.Properties.NOTIFY: "notify",
    Characteristic.Properties.INDICATE: "indicate",
    Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES: "authenticated-signed-writes",
    Characteristic.Properties.EXTENDED_PROPERTIES: "extended-properties",
}


def uuid_text(uuid: UUID) -> str:
    """Bumble UUID → bleak's lower-case 128-bit string."""
    return normalize_uuid_str(uuid.to_hex_str("-") if len(uuid.to_bytes()) == 16 else uuid.to_hex_str())


def advertised_service_uuids(data: AdvertisingData) -> list[str]:
    uuids: list[str] = []
    for kind in (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                 AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                 AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                 AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS):
        uuids.extend(uuid_text(u) for u in data.get(kind) or [])
    return uuids


class _Controller(Controller):
    """Bumble's controller model with LE Create Connection Cancel completing the pending attempt."""

    def on_hci_le_create_connection_cancel_command(self, _command):
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        event = hci.HCI_LE_Connection_Complete_Event(
            status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR, connection_handle=0, role=hci.Role.CENTRAL,
            peer_address_type=pending.peer_address_type, peer_address=pending.peer_address, connection_interval=0,
            peripheral_latency=0, supervision_timeout=0, central_clock_accuracy=0)
        asyncio.get_running_loop().call_soon(self.send_hci_packet, event)  # after the command's completion
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)


class VirtualRadio:
    """One in-process BLE link with one central shared by every bleak client and scanner bound to it."""

    def __init__(self) -> None:
        self.link = LocalLink()
        self._central: Device | None = None
        self._central_ready = asyncio.Lock()
        self._connect_lock = asyncio.Lock()
        self._scan_lock = asyncio.Lock()
        self._listeners: set[Callable[[Advertisement], None]] = set()
        self.client_backend: type[BumbleClient] = type("BumbleClient", (BumbleClient,), {"radio": self})
        self.scanner_backend: type[BumbleScanner] = type("BumbleScanner", (BumbleScanner,), {"radio": self})

    def new_device(self, name: str, address: str) -> Device:
        """A powered-off Bumble device on this link (call inside the running event loop)."""
        controller = _Controller(name, link=self.link)
        return Device(name=name, address=hci.Address(address), host=Host(controller, AsyncPipeSink(controller)))

    async def central(self) -> Device:
        async with self._central_ready:
            if self._central is None:
                central = self.new_device("hinge-central", CENTRAL_ADDRESS)
                await central.power_on()
                central.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
                self._central = central
        return self._central

    async def listen(self, listener: Callable[[Advertisement], None]) -> None:
        """Start passing advertisements to ``listener`` (scanning runs while anyone listens)."""
        central = await self.central()
        async with self._scan_lock:
            self._listeners.add(listener)
            if not central.scanning:
                await central.start_scanning(filter_duplicates=False)

    async def unlisten(self, listener: Callable[[Advertisement], None]) -> None:
        central = await self.central()
        async with self._scan_lock:
            self._listeners.discard(listener)
            if not self._listeners and central.scanning:
                await central.stop_scanning()

    async def wait_for_advertisement(self, address: str) -> Advertisement:
        """The next advertisement from ``address`` (wrap in a timeout)."""
        found: asyncio.Future[Advertisement] = asyncio.get_running_loop().create_future()

        def listener(advertisement: Advertisement) -> None:
            if str(advertisement.address).upper() == address.upper() and not found.done():
                found.set_result(advertisement)

        await self.listen(listener)
        try:
            return await found
        finally:
            await self.unlisten(listener)

    async def connect(self, address: str, timeout_s: float) -> Connection:
        central = await self.central()
        async with self._connect_lock:  # a controller initiates one connection at a time
            return await central.connect(hci.Address(address), timeout=timeout_s)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        for listener in list(self._listeners):
            listener(advertisement)


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend: the radio's central scans the virtual link."""

    radio: ClassVar[VirtualRadio]

    def __init__(self, detection_callback, service_uuids, scanning_mode="active", **kwargs: Any) -> None:
        super().__init__(detection_callback, service_uuids)

    async def start(self) -> None:
        self.seen_devices = {}
        await self.radio.listen(self._on_advertisement)

    async def stop(self) -> None:
        await self.radio.unlisten(self._on_advertisement)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        data = advertisement.data
        uuids = advertised_service_uuids(data)
        if not self.is_allowed_uuid(uuids):
            return
        name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(AdvertisingData.SHORTENED_LOCAL_NAME)
        address = str(advertisement.address)
        adv = AdvertisementData(local_name=name, manufacturer_data={}, service_data={}, service_uuids=uuids,
                                tx_power=advertisement.tx_power, rssi=advertisement.rssi,
                                platform_data=(advertisement,))
        device = self.create_or_update_device(address, address, name, advertisement, adv)
        self.call_detection_callbacks(device, adv)


class BumbleClient(BaseBleakClient):
    """bleak client backend: a connection of the radio's central, GATT through Bumble's client."""

    radio: ClassVar[VirtualRadio]

    def __init__(self, address_or_ble_device, **kwargs: Any) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=kwargs.get("disconnected_callback"),
                         timeout=kwargs.get("timeout", 10.0))
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._name = self.address
        self._subscribers: dict[int, Callable[[bytes], None]] = {}
        self._closing = False

    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        try:
            advertisement = await asyncio.wait_for(self.radio.wait_for_advertisement(self.address), self._timeout)
        except TimeoutError:
            raise BleakDeviceNotFoundError(self.address, f"device {self.address} was not found") from None
        name = advertisement.data.get(AdvertisingData.COMPLETE_LOCAL_NAME)
        self._name = name or self.address
        try:
            connection = await self.radio.connect(self.address, max(0.1, deadline - loop.time()))
        except BaseBumbleError as error:
            raise BleakError(f"connecting to {self.address} failed: {error}") from None
        self._connection, self._closing = connection, False
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._peer = Peer(connection)
        try:
            await self._peer.request_mtu(ATT_MTU)
            self.services = await self._discover()
        except BaseBumbleError as error:
            raise BleakError(f"GATT discovery on {self.address} failed: {error}") from None

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._closing = True
        gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_disconnection(*_: object) -> None:
            if not gone.done():
                gone.set_result(None)

        connection.once(Connection.EVENT_DISCONNECTION, on_disconnection)
        try:
            await connection.disconnect()
            await asyncio.wait_for(gone, 2.0)
        except (BaseBumbleError, TimeoutError):
            pass  # the link is gone either way
        self._connection = self._peer = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise BleakError("the virtual radio does not pair; emulated wearables need no pairing")

    async def unpair(self) -> None:
        raise BleakError("the virtual radio does not pair; emulated wearables need no pairing")

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, **kwargs: Any) -> bytearray:
        return bytearray(await self._gatt(self._require_peer().read_value(characteristic.obj)))

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, **kwargs: Any) -> bytearray:
        return bytearray(await self._gatt(self._require_peer().read_value(descriptor.obj)))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data, response: bool) -> None:
        await self._gatt(self._require_peer().write_value(characteristic.obj, bytes(data), with_response=response))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data) -> None:
        await self._gatt(self._require_peer().write_value(descriptor.obj, bytes(data), with_response=True))

    async def start_notify(self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback,
                           **kwargs: Any) -> None:
        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        self._subscribers[characteristic.handle] = subscriber
        await self._gatt(self._require_peer().subscribe(characteristic.obj, subscriber))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        subscriber = self._subscribers.pop(characteristic.handle, None)
        await self._gatt(self._require_peer().unsubscribe(characteristic.obj, subscriber))

    # ------------------------------------------------------------------------------------------ internals

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError(f"not connected to {self.address}")
        return self._peer

    @staticmethod
    async def _gatt(operation):
        try:
            return await operation
        except BaseBumbleError as error:
            raise BleakError(f"GATT operation failed: {error}") from None

    async def _discover(self) -> BleakGATTServiceCollection:
        peer = self._require_peer()
        collection = BleakGATTServiceCollection()
        for service in await peer.discover_services():
            bleak_service = BleakGATTService(service, service.handle, uuid_text(service.uuid))
            collection.add_service(bleak_service)
            for char in await peer.discover_characteristics(service=service):
                properties = [text for flag, text in _PROPERTY_NAMES.items() if char.properties & flag]
                bleak_char = BleakGATTCharacteristic(char, char.handle, uuid_text(char.uuid), properties,
                                                     lambda: self.mtu_size - 3, bleak_service)
                collection.add_characteristic(bleak_char)
                for descriptor in await peer.discover_descriptors(char):
                    collection.add_descriptor(BleakGATTDescriptor(descriptor, descriptor.handle,
                                                                  uuid_text(descriptor.type), bleak_char))
        return collection

    def _on_disconnection(self, _reason: int) -> None:
        self._connection = self._peer = None
        self.services = None
        self._subscribers.clear()
        if not self._closing and self._disconnected_callback is not None:
            self._disconnected_callback()
