"""Recognise a recording's format from its content and import it as a canonical :class:`Recording`.

Recognised: ``hinge-recording/1`` CSV; Sensor Logger zip, folder of CSVs, JSON export and HTTP-push JSON;
phyphox zip or CSV export. Anything else raises a one-line :class:`RecordingError` naming what is supported.
"""

from __future__ import annotations

import json
import posixpath
from typing import Mapping

from hinge.analysis.errors import RecordingError
from hinge.analysis.recording import Recording
from hinge.analysis.recording_format import HEADER, read_recording

from ._phyphox import is_phyphox_csv, read_phyphox_files
from ._sensor_logger import (is_sensor_logger_csv, read_sensor_logger_files, read_sensor_logger_json,
                             read_sensor_logger_push)
from ._zip import read_zip_members

SUPPORTED_FORMATS = ("hinge-recording/1 CSV, Sensor Logger export (zip, folder of CSVs or JSON) or push JSON, "
                     "phyphox CSV export (zip or CSV)")
_ZIP_MAGIC = b"PK\x03\x04"


def load_recording(data: bytes, filename: str, *, sensor: str = "hip") -> Recording:
    """Import one file (an upload, or a file on disk read as bytes) whatever its supported format.

    Parameters
    ----------
    data : the file's bytes.
    filename : its name, used for zip/JSON hints and in error messages.
    sensor : ``"back"`` or ``"hip"``: where the phone was worn (ignored for ``hinge-recording/1``, which names
        its sensors itself).
    """
    name = posixpath.basename(filename.replace("\\", "/")) or filename
    if not data.strip():
        raise RecordingError(f"{name}: empty file")
    if data.startswith(_ZIP_MAGIC) or name.lower().endswith(".zip"):
        return load_recording_files(read_zip_members(data, name), sensor=sensor, name=name)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return _load_json(data, name, sensor=sensor)
    return load_recording_files({name: data}, sensor=sensor, name=name)


def load_recording_files(files: Mapping[str, bytes], *, sensor: str = "hip", name: str = "upload") -> Recording:
    """Import a set of files that together make one recording: zip members, or the files of a folder.

    ``files`` maps relative paths (``/``-separated) to bytes; ``name`` labels the set in error messages.
    """
    kinds = {path: _csv_kind(data) for path, data in files.items()}
    if "sensor_logger" in kinds.values():
        return read_sensor_logger_files(files, sensor=sensor)
    if "phyphox" in kinds.values():
        return read_phyphox_files(files, sensor=sensor)
    canonical = [path for path, kind in kinds.items() if kind == "canonical"]
    if len(canonical) == 1 and len(files) == 1:
        return read_recording(files[canonical[0]])
    raise RecordingError(f"{name}: unrecognised format; supported: {SUPPORTED_FORMATS}")


def _csv_kind(data: bytes) -> str | None:
    lines = data[:4096].lstrip(b"\xef\xbb\xbf").decode("utf-8", errors="replace").splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    if is_sensor_logger_csv(first):
        return "sensor_logger"
    if is_phyphox_csv(first):
        return "phyphox"
    if first.startswith("#") or first.split(",")[0] == HEADER.split(",")[0]:
        return "canonical"  # also a damaged header: the reader then says exactly what is wrong
    return None


def _load_json(data: bytes, name: str, *, sensor: str) -> Recording:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise RecordingError(f"{name}: not valid JSON ({error})") from None
    messages = document if isinstance(document, list) else [document]
    if messages and all(isinstance(m, dict) and "payload" in m for m in messages):
        return read_sensor_logger_push(messages, sensor=sensor)
    if messages and all(isinstance(m, dict) and "sensor" in m for m in messages):
        return read_sensor_logger_json(messages, sensor=sensor)
    raise RecordingError(f"{name}: unrecognised JSON; supported: {SUPPORTED_FORMATS}")
