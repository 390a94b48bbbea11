"""The incremental writer's reserved gaps line, and the CLI's one-line errors."""

import numpy as np

from hinge.analysis.recording import Chunk
from hinge.analysis.recording_format import GAPS_FIELD_BYTES, RecordingWriter, read_recording
from hinge.cli import main


def _rows(writer, sensor, start_s, n):
    t = start_s + np.arange(n) * 0.01
    writer.append(Chunk(sensor, t, np.tile([0.0, 0.0, 9.81], (n, 1)), np.zeros((n, 3))))


def test_gaps_are_rewritten_in_place_and_the_file_stays_valid_after_every_flush(tmp_path):
    path = tmp_path / "rec.csv"
    writer = RecordingWriter(path, {"back_device": "AA"})
    _rows(writer, "back", 100.0, 50)
    writer.flush()
    assert read_recording(path).metadata["gaps"] == ""
    writer.add_gap("back", 100.49, 101.5)
    _rows(writer, "back", 101.5, 50)
    writer.flush()
    recording = read_recording(path)
    assert recording.metadata["gaps"] == "back 100.490000 101.500000"
    assert recording.sensors["back"].sample_count == 100
    for i in range(200):  # more gaps than the reserved field holds: the earliest stay, the rest are counted
        writer.add_gap("back", 200.0 + i, 200.5 + i)
    writer.close()
    gaps = read_recording(path).metadata["gaps"]
    assert len(gaps) <= GAPS_FIELD_BYTES and gaps.startswith("back 100.490000 101.500000; back 200.000000")
    assert gaps.endswith("more")


def test_record_without_addresses_is_one_line(capsys):
    assert main(["record"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["hinge record: give --back ADDR and/or --hip ADDR (find addresses with `hinge scan`)"]


def test_scan_lists_the_virtual_wearables(capsys):
    assert main(["scan", "--virtual", "clean", "--timeout", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "hinge-imu  F0:00:00:00:00:01    HNG-back" in out and "F0:00:00:00:00:02" in out
