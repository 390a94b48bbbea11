"""Delimited numeric tables as exported by phone apps, parsed with errors that name file, line and column."""

from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np

from analysis.errors import RecordingError


@dataclass(frozen=True)
class Table:
    """A header plus a block of numbers.

    Attributes
    ----------
    source : file name used in error messages.
    header : the column names, stripped of quotes and surrounding blanks.
    values : (n, len(header)) float64; NaN where the app wrote ``NaN``.
    first_line_no : line number (1-based) of the first data row, for error messages.
    """

    source: str
    header: tuple[str, ...]
    values: np.ndarray
    first_line_no: int

    def column(self, name: str) -> np.ndarray:
        """Return the column called ``name`` (case-insensitive) as (n,) float64."""
        lowered = [h.lower() for h in self.header]
        if name.lower() not in lowered:
            raise RecordingError(f"{self.source}: no column '{name}' (found: {', '.join(self.header)})")
        return self.values[:, lowered.index(name.lower())]


def decode_text(data: bytes, *, source: str) -> str:
    """Return ``data`` as text (UTF-8, optional byte-order mark) or raise a one-line RecordingError."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RecordingError(f"{source}: not UTF-8 text (byte {error.start})") from None


def read_rows(text: str, *, delimiter: str) -> list[list[str]]:
    """Split delimited text into rows of stripped string cells (quotes honoured), blank lines dropped."""
    return [[cell.strip() for cell in row] for row in csv.reader(text.splitlines(), delimiter=delimiter) if row]


def parse_table(data: bytes, *, source: str, delimiter: str = ",", decimal_comma: bool = False) -> Table:
    """Parse a header line and numeric rows.

    Parameters
    ----------
    data : the file's bytes (UTF-8, optional BOM, LF or CRLF).
    source : name used in error messages.
    delimiter : the column separator.
    decimal_comma : numbers use ``,`` as the decimal mark (phyphox "decimal comma" exports).

    Raises
    ------
    RecordingError
        Empty file, a row with the wrong number of columns, or a cell that is not a number; the message
        names the file, the line and the column.
    """
    lines = decode_text(data, source=source).splitlines()
    numbered = [(no, line) for no, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        raise RecordingError(f"{source}: empty file")
    header_no, header_line = numbered[0]
    header = tuple(cell.strip() for cell in next(csv.reader([header_line], delimiter=delimiter)))
    if len(numbered) == 1:
        raise RecordingError(f"{source}: header but no samples")
    body = [line.replace(",", ".") if decimal_comma else line for _, line in numbered[1:]]
    cells = [line.split(delimiter) for line in body]
    for (line_no, _), row in zip(numbered[1:], cells):
        if len(row) != len(header):
            raise RecordingError(
                f"{source} line {line_no}: expected {len(header)} columns ({', '.join(header)}), found {len(row)}"
            )
    try:
        values = np.array(cells, dtype=np.float64)
    except ValueError:
        raise _first_non_number(source, header, numbered[1:], cells) from None
    return Table(source=source, header=header, values=values.reshape(len(cells), len(header)),
                 first_line_no=numbered[1][0])


def _first_non_number(source: str, header: tuple[str, ...], numbered: list[tuple[int, str]],
                      cells: list[list[str]]) -> RecordingError:
    for (line_no, _), row in zip(numbered, cells):
        for name, cell in zip(header, row):
            try:
                float(cell)
            except ValueError:
                shown = cell.strip() if len(cell) <= 40 else cell[:37] + "..."
                return RecordingError(f"{source} line {line_no}, column {name}: '{shown}' is not a number")
    return RecordingError(f"{source}: the rows could not be read as numbers")
