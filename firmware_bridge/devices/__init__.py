"""Supported wearables: one module per protocol, each with its decoder, encoder (for the emulators) and session.

A :class:`DeviceSession` drives one connected device through the real ``bleak.BleakClient`` API: it configures
the rate and ranges, subscribes, and hands every raw notification to a callback that only stamps and queues it
(the recorder's consumer task calls :meth:`DeviceSession.decode`). Conversions to canonical units (m/s², rad/s)
happen in the decoders and nowhere else.
"""

from __future__ import annotations

from .base import Batch, DeviceSession, StreamInfo
from .hinge_imu import HingeImuSession
from .movesense import MovesenseSession
from .witmotion import WitMotionSession

SESSIONS: tuple[type[DeviceSession], ...] = (HingeImuSession, WitMotionSession, MovesenseSession)


def session_for_services(service_uuids: set[str]) -> type[DeviceSession] | None:
    """The session class whose primary service is among ``service_uuids`` (lower-case 128-bit strings)."""
    for session in SESSIONS:
        if session.SERVICE_UUID in service_uuids:
            return session
    return None


def kind_from_advertisement(name: str | None, service_uuids: list[str]) -> str | None:
    """The device kind (``hinge-imu``, ``witmotion``, ``movesense``) an advertisement announces, else None."""
    for session in SESSIONS:
        if session.matches_advertisement(name, service_uuids):
            return session.KIND
    return None


__all__ = ["SESSIONS", "Batch", "DeviceSession", "HingeImuSession", "MovesenseSession", "StreamInfo",
           "WitMotionSession", "kind_from_advertisement", "session_for_services"]
