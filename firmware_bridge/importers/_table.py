"""Delimited numeric tables as exported by phone apps, parsed with errors that name file, line and column."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from hinge.analysis.errors import RecordingError


@dataclass(frozen=True)
class Table:
    """A header plus a block of numbers.

    Attributes
    ----------
    source : file name used in error messages.
    header : the column names, stripped of quotes and surrounding blanks.
    values : (n, len(header)) float64; NaN where the app wrote ``NaN``.
    """

    source: str
    header: tuple[str, ...]
    values: np.ndarray

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

    Notes
    -----
    Arrow's CSV reader parses well-formed files (an hour at 100 Hz in a fraction of a second); anything it
    refuses is re-read line by line to say where the problem is.
    """
    text = decode_text(data, source=source)
    first_line = next((line for line in text.split("\n", 100) if line.strip()), "")
    if not first_line:
        raise RecordingError(f"{source}: empty file")
    header = tuple(cell.strip() for cell in next(csv.reader([first_line.strip()], delimiter=delimiter)))
    values = _parse_fast(text, len(header), delimiter=delimiter, decimal_comma=decimal_comma)
    if values is None:
        values = _parse_checked(text, header, source=source, delimiter=delimiter, decimal_comma=decimal_comma)
    if values.shape[0] == 0:
        raise RecordingError(f"{source}: header but no samples")
    return Table(source=source, header=header, values=values)


def _parse_fast(text: str, width: int, *, delimiter: str, decimal_comma: bool) -> np.ndarray | None:
    """All rows as (n, width) float64 via Arrow, or None when Arrow refuses the file or finds blank cells."""
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    try:
        table = arrow_csv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=arrow_csv.ReadOptions(autogenerate_column_names=True, skip_rows=1),
            parse_options=arrow_csv.ParseOptions(delimiter=delimiter),
            convert_options=arrow_csv.ConvertOptions(
                column_types={f"f{i}": pa.float64() for i in range(width)}, null_values=["NaN"],
                strings_can_be_null=False, decimal_point="," if decimal_comma else "."),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_columns != width:
        return None
    return np.column_stack([table.column(i).to_numpy() for i in range(width)]).reshape(table.num_rows, width)


def _parse_checked(text: str, header: tuple[str, ...], *, source: str, delimiter: str,
                   decimal_comma: bool) -> np.ndarray:
    """The slow path: split every line, raise on the first row or cell that is wrong."""
    numbered = [(no, line) for no, line in enumerate(text.splitlines(), start=1) if line.strip()][1:]
    body = [line.replace(",", ".") if decimal_comma else line for _, line in numbered]
    cells = [line.split(delimiter) for line in body]
    for (line_no, _), row in zip(numbered, cells):
        if len(row) != len(header):
            raise RecordingError(
                f"{source} line {line_no}: expected {len(header)} columns ({', '.join(header)}), found {len(row)}"
            )
    try:
        return np.array(cells, dtype=np.float64).reshape(len(cells), len(header))
    except ValueError:
        raise _first_non_number(source, header, numbered, cells) from None


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
