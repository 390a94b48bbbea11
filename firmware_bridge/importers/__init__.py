"""Importers for phone-app recordings: each turns an app's export into a canonical :class:`Recording`.

One private module per app (``_sensor_logger``, ``_phyphox``; ``_columns`` maps any other CSV's named
columns); :mod:`.detect` recognises the format of an
upload. Conversions to canonical units and axes (acc m/s² specific force, gyr rad/s, Unix seconds) happen here
and nowhere else.
"""

from ._columns import PRESETS, ColumnMap, column_maps, parse_column_spec, read_columns
from ._phyphox import read_phyphox_files
from ._resample import MAX_GAP_S, combine_placements, interpolate_onto, merge_onto_accelerometer
from ._sensor_logger import (
                             STANDARD_GRAVITY_MPS2,
                             push_first_time_s,
                             read_sensor_logger_files,
                             read_sensor_logger_json,
                             read_sensor_logger_push,
)
from .detect import SUPPORTED_FORMATS, load_recording, load_recording_files

__all__ = [
    "PRESETS",
    "ColumnMap",
    "column_maps",
    "parse_column_spec",
    "read_columns",
    "MAX_GAP_S",
    "STANDARD_GRAVITY_MPS2",
    "SUPPORTED_FORMATS",
    "combine_placements",
    "interpolate_onto",
    "load_recording",
    "load_recording_files",
    "merge_onto_accelerometer",
    "push_first_time_s",
    "read_phyphox_files",
    "read_sensor_logger_files",
    "read_sensor_logger_json",
    "read_sensor_logger_push",
]
