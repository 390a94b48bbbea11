"""Recognise a recording's format from its content and import it as a canonical :class:`Recording`.

Recognised: ``hinge-recording/1`` CSV; Sensor Logger zip, folder of CSVs, JSON export and HTTP-push JSON;
phyphox zip or CSV export (iOS and Android headers). Anything else raises a one-line :class:`RecordingError`
listing the columns found and what is supported; other apps' CSVs are read by naming their columns
(``columns=``, see :mod:`._columns`).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping

from hinge.analysis.errors import RecordingError
from hinge.analysis.recording import Recording
from hinge.analysis.recording_format import HEADER, read_recording

from ._columns import ColumnMap, read_columns
from ._phyphox import is_phyphox_csv, read_phyphox_files
from ._sensor_logger import (
    is_sensor_logger_csv,
    read_sensor_logger_files,
    read_sensor_logger_json,
    read_sensor_logger_push,
)
from ._zip import read_zip_members

SUPPORTED_FORMATS = ("hinge-recording/1 CSV, Sensor Logger export (zip, folder of CSVs or JSON) or push JSON, "
                     "phyphox CSV export (zip or CSV); any other CSV by naming its columns (--columns or --preset)")
_ZIP_MAGIC = b"PK\x03\x04"
SHOWN_CHARS = 60          # of a file name or first line quoted in an error message


def load_recording(data: bytes, filename: str, *, sensor: str = "hip", platform: str | None = None,
                   columns: tuple[ColumnMap, ...] | None = None) -> Recording:
    """Import one file (an upload, or a file on disk read as bytes) whatever its supported format.

    Parameters
    ----------
    data : the file's bytes.
    filename : its name, used for zip/JSON hints and in error messages.
    sensor : ``"back"`` or ``"hip"``: where the phone was worn (ignored for ``hinge-recording/1``, which names
        its sensors itself).
    platform : ``"ios"`` or ``"android"`` for a Sensor Logger export or push capture that does not say (no
        ``Metadata.csv``); an error when it contradicts the export.
    columns : read the file with these column maps (:func:`._columns.column_maps`) instead of recognising it.
    """
    name = posixpath.basename(filename.replace("\\", "/")) or filename
    if not data.strip():
        raise RecordingError(f"{name}: empty file")
    if data.startswith(_ZIP_MAGIC) or name.lower().endswith(".zip"):
        members = read_zip_members(data, name)
        return load_recording_files(members, sensor=sensor, name=name, platform=platform, columns=columns)
    if columns is None and data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return _load_json(data, name, sensor=sensor, platform=platform)
    return load_recording_files({name: data}, sensor=sensor, name=name, platform=platform, columns=columns)


def load_recording_files(files: Mapping[str, bytes], *, sensor: str = "hip", name: str = "upload",
                         platform: str | None = None, columns: tuple[ColumnMap, ...] | None = None) -> Recording:
    """Import a set of files that together make one recording: zip members, or the files of a folder.

    ``files`` maps relative paths (``/``-separated) to bytes; ``name`` labels the set in error messages;
    ``platform`` and ``columns`` as for :func:`load_recording`.
    """
    if columns is not None:
        return read_columns(files, columns, sensor=sensor)
    kinds = {path: _csv_kind(data) for path, data in files.items()}
    if "sensor_logger" in kinds.values():
        return read_sensor_logger_files(files, sensor=sensor, platform=platform)
    if "phyphox" in kinds.values():
        return read_phyphox_files(files, sensor=sensor)
    canonical = [path for path, kind in kinds.items() if kind == "canonical"]
    if len(canonical) == 1 and len(files) == 1:
        return read_recording(files[canonical[0]])
    found = "; ".join(f"{_shown(posixpath.basename(p))}: {_shown(_first_line(d))}" for p, d in list(files.items())[:3])
    raise RecordingError(f"{_shown(name)}: unrecognised format (first lines: {found or 'none'}); supported: "
                         f"{SUPPORTED_FORMATS}, e.g. --columns time=T,acc=AX,AY,AZ,gyr=GX,GY,GZ")


def _first_line(data: bytes) -> str:
    lines = data[:4096].lstrip(b"\xef\xbb\xbf").decode("utf-8", errors="replace").splitlines()
    return next((line.strip() for line in lines if line.strip()), "")


def _shown(text: str) -> str:
    """``text`` fit to quote in a one-line message: ``binary data`` when a quarter of it is not printable (or not
    UTF-8), else with each unprintable character as ``?``; at most ``SHOWN_CHARS`` characters."""
    unprintable = [not ch.isprintable() or ch == "\ufffd" for ch in text]
    if sum(unprintable) * 4 > len(text):
        return "binary data"
    shown = "".join("?" if bad else ch for ch, bad in zip(text, unprintable))
    return shown if len(shown) <= SHOWN_CHARS else shown[:SHOWN_CHARS - 1] + "…"


def _csv_kind(data: bytes) -> str | None:
    first = _first_line(data)
    if is_sensor_logger_csv(first):
        return "sensor_logger"
    if is_phyphox_csv(first):
        return "phyphox"
    if first.startswith("#") or first.split(",")[0] == HEADER.split(",")[0]:
        return "canonical"  # also a damaged header: the reader then says exactly what is wrong
    return None


def _load_json(data: bytes, name: str, *, sensor: str, platform: str | None) -> Recording:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise RecordingError(f"{name}: not valid JSON ({error})") from None
    messages = document if isinstance(document, list) else [document]
    if messages and all(isinstance(m, dict) and "payload" in m for m in messages):
        return read_sensor_logger_push(messages, sensor=sensor, platform=platform)
    if messages and all(isinstance(m, dict) and "sensor" in m for m in messages):
        return read_sensor_logger_json(messages, sensor=sensor, platform=platform)
    raise RecordingError(f"{name}: unrecognised JSON; supported: {SUPPORTED_FORMATS}")
