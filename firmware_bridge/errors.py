"""Typed errors of the capture side. The CLI turns each into one line."""

from hinge.analysis.errors import HingeError


class DeviceError(HingeError):
    """A wearable misbehaved or could not be used: not found, refused a command, sent a malformed packet."""


class DeviceNotFoundError(DeviceError):
    """Nobody advertised the requested address within the timeout."""


class ProtocolError(DeviceError):
    """A packet or reply does not follow the device's protocol; the message names the bytes."""
