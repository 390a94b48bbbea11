"""Hostile inputs, generated: files, zips, API requests, live messages and credentials an attacker or a careless
user would send. Every one of them must be refused with a one-line message, store nothing and leave the server
answering (tests/server/test_hostile_*.py)."""

from __future__ import annotations

import functools
import io
import json
import time
import zipfile

import numpy as np

T0_S = 1_700_000_000.0
HEADER = "time_s,sensor,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z"


@functools.cache
def base_streams() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """An analysable set (simulated ``clean``): {sensor: (time_s, acc_mps2, gyr_radps)}; hostile files are this
    set with one thing broken, so only the broken thing can be why a file is refused."""
    from hinge.analysis.simulate import simulate_preset

    sensors = simulate_preset("clean", seed=2).recording.sensors
    return {name: (s.time_s.copy(), s.acc_mps2.copy(), s.gyr_radps.copy()) for name, s in sensors.items()}


def recording(time_s: np.ndarray | None = None, sensor: str = "back", *, hip_time_s: np.ndarray | None = None,
              lines: str = "\n", preamble: str = "") -> bytes:
    """A ``hinge-recording/1`` file of the base set with the back's (and hip's) stamps replaced.

    ``time_s`` may be shorter than the base (the first samples are used); ``sensor`` renames the back sensor.
    """
    rows = []
    for name, (base_s, acc, gyr) in base_streams().items():
        stamps = {"back": time_s, "hip": hip_time_s}[name]
        stamps = base_s if stamps is None else np.asarray(stamps, float)
        label = sensor if name == "back" else name
        rows += [f"{t!r},{label},{a[0]!r},{a[1]!r},{a[2]!r},{g[0]!r},{g[1]!r},{g[2]!r}"
                 for t, a, g in zip(stamps.tolist(), acc[:stamps.size].tolist(), gyr[:stamps.size].tolist())]
    return (preamble + lines.join(["# format: hinge-recording/1", HEADER, *rows]) + lines).encode()


def steady(n: int | None = None, rate_hz: float | None = None, start_s: float | None = None) -> np.ndarray:
    """Back stamps of the base set (or ``n`` of them at ``rate_hz`` from ``start_s``)."""
    base_s = base_streams()["back"][0]
    n = base_s.size if n is None else n
    rate_hz = rate_hz or 1.0 / float(np.median(np.diff(base_s)))
    return (base_s[0] if start_s is None else start_s) + np.arange(n) / rate_hz


def zip_of(files: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@functools.cache
def hostile_files() -> dict[str, bytes]:
    """Recording files that must be refused (``hinge analyze``, ``hinge import``, uploads)."""
    base_s = steady()
    t0_s, n = float(base_s[0]), base_s.size
    late = base_s.copy()
    late[-1] += 1e5
    gap = base_s.copy()
    gap[n // 2:] += 1e6
    hip_s = base_streams()["hip"][0]
    return {
        "empty": b"",
        "only-a-bom": b"\xef\xbb\xbf",
        "whitespace": b" \n\t\r\n",
        "header-only": recording(np.zeros(0), hip_time_s=np.zeros(0)),
        "cr-only-line-endings": recording(lines="\r"),
        "binary-garbage": bytes(range(256)) * 40,
        "nul-bytes": b"\x00" * 5000,
        "utf-16": recording().decode().encode("utf-16"),
        "not-utf-8": recording().replace(b",back,", b",b\xffck,", 1),
        "nan-values": replace_cell(recording(), 5, 2, "nan"),
        "inf-values": replace_cell(recording(), 5, 2, "inf"),
        "overflowing-number": replace_cell(recording(), 5, 3, "1e999"),
        "time-backwards": recording(base_s[::-1]),
        "identical-stamps": recording(np.full(n, t0_s)),
        "stamps-1e-310-apart": recording(np.arange(n) * 1e-310),
        "stamps-in-milliseconds": recording(base_s * 1000, hip_time_s=hip_s * 1000),
        "stamps-in-nanoseconds": recording(base_s * 1e9, hip_time_s=hip_s * 1e9),
        "rate-1e5-hz": recording(t0_s + np.arange(n) * 1e-5),
        "rate-0.01-hz": recording(t0_s + np.arange(n) * 100.0),
        "gap-of-1e6-s": recording(gap),
        "one-sample-1e5-s-late": recording(late),
        "sensor-joining-1e5-s-late": recording(hip_time_s=hip_s + 1e5),
        "unknown-sensor": recording(sensor="knee"),
        "extra-column": replace_cell(recording(), 5, 7, "0,7"),
        "missing-column": replace_cell(recording(), 5, 7, None),
        "hex-number": replace_cell(recording(), 5, 2, "0x1"),
        "empty-field": replace_cell(recording(), 5, 2, ""),
        "header-repeated": recording() + (HEADER + "\n").encode(),
        "preamble-of-20000-lines": b"# x: y\n" * 20_000 + recording(),
        "number-of-2-million-digits": replace_cell(recording(), 5, 0, "1" * 2_000_000),
        "too-few-samples": recording(base_s[:5], hip_time_s=hip_s[:5]),
        "csv-of-other-app": b"timestamp,ax,ay,az\n1,2,3,4\n",
        "html": b"<html><body><script>alert(1)</script></body></html>",
        "json-deeply-nested": b"[" * 100_000 + b"]" * 100_000,
        "json-object-of-nothing": b'{"payload": 5}',
        "json-number": b"1e999",
    }


def replace_cell(content: bytes, line_no: int, column: int, text: str | None) -> bytes:
    """``content`` with one cell of line ``line_no`` (1-based) replaced (None: the cell removed)."""
    lines = content.split(b"\n")
    cells = lines[line_no - 1].split(b",")
    if text is None:
        del cells[column]
    else:
        cells[column] = text.encode()
    lines[line_no - 1] = b",".join(cells)
    return b"\n".join(lines)


@functools.cache
def zip_bomb(unpacked_mib: int = 1100) -> bytes:
    """~1 MB that unpacks to ``unpacked_mib`` MiB of zeros (written a MiB at a time)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("Accelerometer.csv", "w", force_zip64=True) as member:
        for _ in range(unpacked_mib):
            member.write(b"0" * (1 << 20))
    return buffer.getvalue()


@functools.cache
def hostile_zips() -> dict[str, bytes]:
    """Zip archives that must be refused: bombs, damage, passwords, floods of members, hostile contents."""
    good_csv = recording()
    sensor_logger_tiny = ("time,seconds_elapsed,z,y,x\n" + "".join(
        f"{i},{i * 1e-310!r},0.1,0.2,9.8\n" for i in range(600))).encode()
    bomb = zip_bomb()
    many = zip_of({f"f{i}.csv": b"" for i in range(1500)}, compression=zipfile.ZIP_STORED)
    encrypted = bytearray(zip_of({"a.csv": good_csv}, compression=zipfile.ZIP_STORED))
    for offset in (6, encrypted.rfind(b"PK\x01\x02") + 8):  # set the "encrypted" flag bit of the member
        encrypted[offset] |= 0x1
    truncated = zip_of({"a.csv": good_csv})[:-40]
    lying = bytearray(zip_of({"a.csv": good_csv}))
    central = lying.rfind(b"PK\x01\x02")
    lying[central + 24:central + 28] = (10).to_bytes(4, "little")  # declares 10 bytes, inflates to more
    return {
        "zip-bomb": bomb,
        "1500-members": many,
        "encrypted-member": bytes(encrypted),
        "truncated": truncated,
        "declared-size-lies": bytes(lying),
        "not-a-zip-but-named-zip": b"hello",
        "empty-zip": zip_of({}),
        "only-folders-and-hidden": zip_of({"__MACOSX/._a.csv": b"x", ".hidden.csv": good_csv}),
        "nested-zip": zip_of({"inner.zip": zip_of({"a.csv": good_csv})}),
        "path-traversal-member": zip_of({"../../etc/passwd": b"root:x:0:0"}),
        "zip-of-hostile-csv": zip_of({"a.csv": hostile_files()["stamps-1e-310-apart"]}),
        "zip-of-cr-only-csv": zip_of({"a.csv": hostile_files()["cr-only-line-endings"]}),
        "sensor-logger-stamps-1e-310-apart": zip_of({"Gyroscope.csv": sensor_logger_tiny,
                                                    "TotalAcceleration.csv": sensor_logger_tiny}),
    }


def hostile_api_requests() -> list[tuple[str, str, str, dict]]:
    """(id, method, path, httpx keyword arguments) against an existing session 1: each must be a 4xx."""
    deep = "[" * 50_000 + "]" * 50_000
    return [
        ("id-2**63", "GET", f"/api/sessions/{2**63}", {}),
        ("id-2**64", "DELETE", f"/api/sessions/{2**64}", {}),
        ("id-zero", "GET", "/api/sessions/0", {}),
        ("id-negative", "GET", "/api/sessions/-1", {}),
        ("id-5000-digits", "GET", "/api/sessions/" + "9" * 5000, {}),
        ("id-text", "GET", "/api/sessions/abc", {}),
        ("id-traversal", "GET", "/api/sessions/..%2F..%2Fetc%2Fpasswd/recording", {}),
        ("id-float", "GET", "/api/sessions/1.5", {}),
        ("patch-date-year-9999-minus-1h", "PATCH", "/api/sessions/1", {"json": {"date": "9999-12-31T23:30:00-01:00"}}),
        ("patch-date-year-1-plus-1h", "PATCH", "/api/sessions/1", {"json": {"date": "0001-01-01T00:30:00+01:00"}}),
        ("patch-date-garbage", "PATCH", "/api/sessions/1", {"json": {"date": "yesterday"}}),
        ("patch-deeply-nested", "PATCH", "/api/sessions/1",
         {"content": deep, "headers": {"content-type": "application/json"}}),
        ("patch-not-json", "PATCH", "/api/sessions/1",
         {"content": "{", "headers": {"content-type": "application/json"}}),
        ("patch-unknown-field", "PATCH", "/api/sessions/1", {"json": {"report": {}}}),
        ("patch-name-too-long", "PATCH", "/api/sessions/1", {"json": {"name": "x" * 201}}),
        ("patch-load-negative", "PATCH", "/api/sessions/1", {"json": {"load_kg": -1}}),
        ("patch-load-nan", "PATCH", "/api/sessions/1",
         {"content": '{"load_kg": NaN}', "headers": {"content-type": "application/json"}}),
        ("patch-load-1e999", "PATCH", "/api/sessions/1",
         {"content": '{"load_kg": 1e999}', "headers": {"content-type": "application/json"}}),
        ("patch-list", "PATCH", "/api/sessions/1", {"json": [1, 2]}),
        ("reanalyse-deep", "POST", "/api/sessions/1/reanalyse",
         {"content": deep, "headers": {"content-type": "application/json"}}),
        ("reanalyse-unknown-threshold", "POST", "/api/sessions/1/reanalyse", {"json": {"knee_deg": 5}}),
        ("reanalyse-threshold-string", "POST", "/api/sessions/1/reanalyse", {"json": {"back_rounding_deg": "x"}}),
        ("reanalyse-threshold-negative", "POST", "/api/sessions/1/reanalyse", {"json": {"back_rounding_deg": -5}}),
        ("reanalyse-threshold-1e308", "POST", "/api/sessions/1/reanalyse", {"json": {"back_rounding_deg": 1e308}}),
        ("live-end-bad-id", "POST", "/api/live/..%2Fx/end", {}),
        ("live-end-id-with-newline", "POST", "/api/live/a%0A/end", {}),
        ("live-end-unknown", "POST", "/api/live/nothing/end", {}),
        ("live-discard-unknown", "DELETE", "/api/live/nothing", {}),
        ("sensorlogger-deep", "POST", "/api/live/sl/sensorlogger",
         {"content": deep, "headers": {"content-type": "application/json"}}),
        ("sensorlogger-5-mb", "POST", "/api/live/sl/sensorlogger",
         {"content": json.dumps({"payload": ["x" * 1000] * 5000}), "headers": {"content-type": "application/json"}}),
        ("sensorlogger-not-json", "POST", "/api/live/sl/sensorlogger", {"content": b"\xff\xfe"}),
        ("sensorlogger-bad-placement", "POST", "/api/live/sl/sensorlogger?placement=knee", {"json": {"payload": []}}),
        ("sensorlogger-stamps-1e-310", "POST", "/api/live/sl/sensorlogger", {"json": {"payload": [
            {"name": name, "time": i * 1e-301, "values": {"x": 0.0, "y": 0.0, "z": 9.8}}
            for i in range(120) for name in ("totalacceleration", "gyroscope")]}}),
        ("upload-thresholds-deep", "POST", "/api/sessions",
         {"files": {"file": ("a.csv", b"x")}, "data": {"thresholds": deep}}),
        ("upload-no-file", "POST", "/api/sessions", {"data": {"name": "x"}}),
        ("upload-load-1e999", "POST", "/api/sessions",
         {"files": {"file": ("a.csv", b"x")}, "data": {"load_kg": "1e999"}}),
    ]


def hostile_live_messages() -> dict[str, list]:
    """Message sequences on ``/api/live/ingest`` (after an optional hello): each must close with 1008 and a
    reason, recording nothing of the offending message. ``bytes`` items are sent as binary frames."""

    def samples(time_s, sensor="back", **extra):
        n = len(time_s)
        return {"type": "samples", "sensor": sensor, "time_s": list(time_s), "acc_mps2": [[0.1, 0.2, 9.8]] * n,
                "gyr_radps": [[0.0, 0.0, 0.0]] * n, **extra}

    hello = {"type": "hello", "protocol": "hinge-live/1", "session_id": "hostile",
             "metadata": {"back_device": "x", "hip_device": "y"}}
    on_server_clock = {**hello, "time_base": "server"}  # the phone page's: stamps mapped onto the server's clock
    start = steady(60, 100.0, T0_S).tolist()
    now = steady(60, 100.0, time.time()).tolist()  # when the cases are made: a run takes minutes, not a day
    return {
        "binary-frame-first": [b"\x00\x01"],
        "binary-frame-after-hello": [hello, b"\x00\x01"],
        "not-json": ["{"],
        "deeply-nested": ["[" * 100_000 + "]" * 100_000],
        "json-list": ["[1, 2]"],
        "5-mb-message": [hello, json.dumps(samples(start)) + " " * (5 << 20)],
        "no-hello": [samples(start)],
        "hello-wrong-protocol": [{**hello, "protocol": "hinge-live/0"}],
        "hello-session-id-traversal": [{**hello, "session_id": "../../x"}],
        "hello-session-id-newline": [{**hello, "session_id": "abc\n"}],
        "hello-session-id-number": [{**hello, "session_id": 5}],
        "hello-metadata-1000-keys": [{**hello, "metadata": {f"k{i}": "v" for i in range(1000)}}],
        "hello-metadata-colon-key": [{**hello, "metadata": {"a:b": "v"}}],
        "hello-metadata-1-mb-value": [{**hello, "metadata": {"a": "v" * (1 << 20)}}],
        "hello-metadata-not-strings": [{**hello, "metadata": {"a": [1]}}],
        "samples-nan": [hello, json.dumps(samples(start)).replace("9.8", "NaN", 1)],
        "samples-infinity": [hello, json.dumps(samples(start)).replace("9.8", "Infinity", 1)],
        "samples-strings": [hello, samples(["a"] * 3)],
        "samples-shape": [hello, {**samples(start), "acc_mps2": [[1, 2]] * 60}],
        "samples-ragged": [hello, {**samples(start), "gyr_radps": [[1, 2, 3], [1]] + [[0, 0, 0]] * 58}],
        "samples-20001": [hello, samples(steady(20_001, 100.0, T0_S).tolist())],
        "samples-unknown-sensor": [hello, samples(start, sensor="knee")],
        "samples-sensor-list": [hello, samples(start, sensor=["back"])],
        "samples-seq-bool": [hello, samples(start, seq=True)],
        "samples-seq-string": [hello, samples(start, seq="1")],
        "samples-stamps-1e-310-apart": [hello, samples([0.0] + [i * 1e-310 for i in range(1, 60)])],
        "samples-identical-stamps": [hello, samples([T0_S] * 60)],
        "samples-rate-1e5-hz": [hello, samples((T0_S + np.arange(60) * 1e-5).tolist())],
        "samples-rate-1-hz": [hello, samples((T0_S + np.arange(60) * 1.0).tolist())],
        "samples-jump-1e5-s": [hello, samples(start), samples([T0_S + 1e5])],
        "samples-jump-inside-message": [hello, samples(start[:30] + [T0_S + 1e5])],
        "samples-other-sensor-1e5-s-later": [hello, samples(start), samples((np.array(start) + 1e5).tolist(), "hip")],
        "samples-one-stamp-1e5-s-back": [hello, samples(start), samples([T0_S - 1e5])],
        "samples-6-s-back": [hello, samples(start), samples((np.array(start) - 6.0).tolist())],
        "samples-back-within-message": [hello, samples(start[:30] + [start[0]] + start[30:])],
        "hello-time-base-unknown": [{**hello, "time_base": "phone"}],
        "server-clock-a-day-ahead": [on_server_clock, samples((np.array(now) + 86400.0).tolist())],
        "server-clock-20-minutes-behind": [on_server_clock, samples((np.array(now) - 1200.0).tolist())],
        "server-clock-3-years-behind": [on_server_clock, samples(start)],
        "gap-huge-int": [hello, {"type": "gap", "sensor": "back", "start_s": 10**400, "end_s": 1}],
        "gap-string": [hello, {"type": "gap", "sensor": "back", "start_s": "a", "end_s": 1}],
        "status-not-list": [hello, {"type": "status", "sensors": "x"}],
        "unknown-type": [hello, {"type": "exec"}],
        "type-missing": [hello, {}],
    }
