"""The one place zip exports are opened: members read with bounded count and decompressed size.

A zip states each member's size; a zip bomb states small ones and inflates to gigabytes, or holds millions of
members. The declared sizes are checked before anything is decompressed, and the bytes actually inflated are
counted while reading, so neither can exceed :data:`MAX_UNZIPPED_BYTES` or :data:`MAX_MEMBERS`.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib

from hinge.analysis.errors import RecordingError

MAX_MEMBERS = 1000
MAX_UNZIPPED_BYTES = 1 << 30   # all members together, decompressed
_READ_BYTES = 1 << 20


def read_zip_members(data: bytes, name: str) -> dict[str, bytes]:
    """``{member path: bytes}`` of a zip's files (folders, ``__MACOSX/`` and hidden files left out).

    Raises :class:`RecordingError` (one line) for a damaged, encrypted, empty or oversized archive.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_MEMBERS:
                raise RecordingError(f"{name}: {len(entries)} zip members; at most {MAX_MEMBERS} are accepted")
            members = [m for m in entries if not m.is_dir() and not _hidden(m.filename)]
            if any(m.flag_bits & 0x1 for m in members):
                raise RecordingError(f"{name}: the zip archive is encrypted; export it without a password")
            if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
                raise RecordingError(f"{name}: the zip archive unpacks to more than {MAX_UNZIPPED_BYTES >> 20} MiB")
            budget = MAX_UNZIPPED_BYTES
            files = {}
            for member in members:
                files[member.filename] = _read(archive, member, budget, name)
                budget -= len(files[member.filename])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
            ValueError) as error:
        raise RecordingError(f"{name}: not a readable zip archive (truncated or damaged: {error})") from None
    if not files:
        raise RecordingError(f"{name}: the zip archive is empty")
    return files


def _read(archive: zipfile.ZipFile, member: zipfile.ZipInfo, budget: int, name: str) -> bytes:
    out = bytearray()
    with archive.open(member) as handle:
        while chunk := handle.read(_READ_BYTES):
            out += chunk
            if len(out) > budget:
                raise RecordingError(f"{name}: the zip archive unpacks to more than {MAX_UNZIPPED_BYTES >> 20} MiB")
    return bytes(out)


def _hidden(path: str) -> bool:
    return path.startswith("__MACOSX/") or posixpath.basename(path).startswith(".")
