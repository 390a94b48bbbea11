"""Sources of recordings: BLE wearables, phones, clock alignment and crash-safe recording.

- :mod:`.devices`: the wearable protocols (hinge-imu open profile, WitMotion, Movesense), decoders and sessions.
- :mod:`.clock`: device clocks → one host time base (offset + drift), frame counting without time stamps.
- :mod:`.recorder`: back + hip at once, reconnects, incremental fsync-ed ``hinge-recording/1`` file.
- :mod:`.virtual_radio` and :mod:`.emulators`: a bleak backend on Bumble's virtual link and emulated wearables.
- :mod:`.cli`: ``hinge scan``, ``hinge record``, ``hinge emulate``; :mod:`.cli_import` and :mod:`.importers`:
  phone-app recordings.
"""
