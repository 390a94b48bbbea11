"""The canonical recording format: round trip, accepted variants, and one-line errors with line/column/value."""

from __future__ import annotations

import numpy as np
import pytest

from hinge.analysis.errors import RecordingError
from hinge.analysis.recording import Recording, SensorStream
from hinge.analysis.recording_format import HEADER, read_recording, write_recording

ROW_BACK = "0.000000,back,0.1,9.8,0.2,0.01,0.02,0.03"


def _recording(n: int = 50) -> Recording:
    rng = np.random.default_rng(0)
    t = 1_700_000_000.0 + np.arange(n) / 100.0
    return Recording(
        sensors={
            "back": SensorStream(t, rng.normal(size=(n, 3)) + [0, 0, 9.81], rng.normal(size=(n, 3))),
            "hip": SensorStream(t[::2] + 0.003, rng.normal(size=(n // 2, 3)), rng.normal(size=(n // 2, 3))),
        },
        metadata={"back_device": "XIAO-1", "synthetic": "true"},
    )


def test_round_trip_keeps_values_and_metadata(tmp_path):
    original = _recording()
    path = tmp_path / "r.csv"
    write_recording(original, path)
    back = read_recording(path)
    assert back.metadata["format"] == "hinge-recording/1"
    assert back.metadata["back_device"] == "XIAO-1"
    for name in ("back", "hip"):
        np.testing.assert_allclose(back.sensors[name].time_s, original.sensors[name].time_s, atol=1e-6)
        np.testing.assert_allclose(back.sensors[name].acc_mps2, original.sensors[name].acc_mps2, atol=1e-5)
        np.testing.assert_allclose(back.sensors[name].gyr_radps, original.sensors[name].gyr_radps, atol=1e-6)


def test_each_sensor_is_gathered_across_the_readers_blocks(tmp_path):
    """A file of more than one of Arrow's 8 MB blocks, the sensors' rows interleaving unevenly: each sensor's
    samples come back whole and in order, equal to the values written."""
    rng = np.random.default_rng(5)
    n = 90_000
    t = 1_700_000_000.0 + np.arange(n) / 200.0
    hip_t = np.sort(rng.choice(t, size=n // 3, replace=False)) + 0.001
    m = hip_t.size
    original = Recording({"back": SensorStream(t, rng.normal(size=(n, 3)), rng.normal(size=(n, 3))),
                          "hip": SensorStream(hip_t, rng.normal(size=(m, 3)), rng.normal(size=(m, 3)))})
    path = tmp_path / "long.csv"
    write_recording(original, path)
    assert path.stat().st_size > 8 << 20  # more than one block
    back = read_recording(path)
    for name, stream in original.sensors.items():
        np.testing.assert_allclose(back.sensors[name].time_s, stream.time_s, atol=1e-6, rtol=0)
        np.testing.assert_allclose(back.sensors[name].acc_mps2, stream.acc_mps2, atol=1e-5, rtol=0)
        np.testing.assert_allclose(back.sensors[name].gyr_radps, stream.gyr_radps, atol=1e-6, rtol=0)


def test_reads_bytes_crlf_bom_interleaving_duplicates_and_one_sensor():
    rows = ["2.0,hip,0,0,9.8,0,0,0", "1.0,back,0,0,9.8,0,0,0", "1.0,back,0,0,9.7,0,0,0", "3.0,hip,0,0,9.9,0,0,0"]
    text = "\ufeff# format: hinge-recording/1\r\n# note: a: b\r\n" + HEADER + "\r\n" + "\r\n".join(rows) + "\r\n"
    rec = read_recording(text.encode("utf-8"))
    assert rec.metadata["note"] == "a: b"
    np.testing.assert_array_equal(rec.sensors["back"].time_s, [1.0, 1.0])
    np.testing.assert_array_equal(rec.sensors["hip"].acc_mps2[:, 2], [9.8, 9.9])
    only_hip = read_recording((HEADER + "\n" + rows[0] + "\n").encode())
    assert only_hip.sensor_names == ("hip",)


@pytest.mark.parametrize(
    "rows, message",
    [
        ([ROW_BACK, "0.01,back,0.1,9.8,0.2,0.01,0.02"], "line 3: expected 8 columns"),
        ([ROW_BACK, "0.01,back,0.1,9.8,0.2,0.01,0.02,0.03,7"], "line 3: expected 8 columns"),
        ([ROW_BACK, "0.01,back,0.1,abc,0.2,0.01,0.02,0.03"], "line 3, column acc_y: 'abc' is not a number"),
        ([ROW_BACK, "0.01,back,0.1,9.8,nan,0.01,0.02,0.03"], "line 3, column acc_z: 'nan' is not a finite number"),
        ([ROW_BACK, "0.01,chest,0.1,9.8,0.2,0.01,0.02,0.03"], "line 3, column sensor: unknown sensor 'chest'"),
        ([ROW_BACK, "-0.5,back,0.1,9.8,0.2,0.01,0.02,0.03"],
         "line 3, column time_s: time goes backwards for sensor back"),
        ([], "header but no samples"),
    ],
)
def test_bad_rows_name_line_column_and_value(rows, message):
    content = (HEADER + "\n" + "\n".join(rows) + ("\n" if rows else "")).encode()
    with pytest.raises(RecordingError) as error:
        read_recording(content)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_bad_header_and_missing_file(tmp_path):
    with pytest.raises(RecordingError, match="line 2: expected the header"):
        read_recording(b"# format: hinge-recording/1\ntime,sensor,ax\n")
    with pytest.raises(RecordingError, match="no such file"):
        read_recording(tmp_path / "missing.csv")
    with pytest.raises(RecordingError, match="not UTF-8"):
        read_recording(b"\xff\xfe\x00t\x00i")


def test_error_line_numbers_count_metadata_lines():
    content = ("# a: 1\n# b: 2\n" + HEADER + "\n" + ROW_BACK + "\n" * 2 + "0.2,hip,x,0,0,0,0,0\n").encode()
    with pytest.raises(RecordingError, match=r"line 6, column acc_x: 'x'"):
        read_recording(content)
