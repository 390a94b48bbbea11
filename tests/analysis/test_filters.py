"""analysis.filters against SciPy itself (the reference they stand in for), on random and awkward inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndimage
import scipy.signal as signal

from hinge.analysis import filters


@pytest.mark.parametrize("order", [2, 4, 6])
@pytest.mark.parametrize(("cutoff_hz", "fs"), [(3.0, 100.0), (2.0, 25.0), (0.05, 200.0), (45.0, 100.0)])
def test_butter_matches_scipy(order, cutoff_hz, fs):
    expected = signal.butter(order, cutoff_hz, fs=fs, output="sos")
    np.testing.assert_allclose(filters.butter(order, cutoff_hz, fs=fs), expected, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize(("order", "cutoff_hz", "fs"), [(1, 3.0, 100.0), (3, 3.0, 100.0), (2, 50.0, 100.0)])
def test_butter_refuses_what_it_does_not_do(order, cutoff_hz, fs):
    with pytest.raises(ValueError):
        filters.butter(order, cutoff_hz, fs=fs)


@pytest.mark.parametrize("n", [16, 31, 200, 5_000, 300_000])
@pytest.mark.parametrize(("order", "cutoff_hz", "fs"), [(2, 3.0, 100.0), (2, 2.0, 25.0), (2, 45.0, 100.0),
                                                        (2, 0.2, 200.0), (4, 3.0, 100.0)])
def test_sosfiltfilt_matches_scipy(n, order, cutoff_hz, fs):
    rng = np.random.default_rng(n)
    x = np.cumsum(rng.standard_normal(n)) + 5 * np.sin(np.arange(n) / 37)
    sos = signal.butter(order, cutoff_hz, fs=fs, output="sos")
    expected = signal.sosfiltfilt(sos, x)
    np.testing.assert_allclose(filters.sosfiltfilt(sos, x), expected, rtol=0, atol=1e-10 * np.abs(expected).max())


def test_sosfiltfilt_along_axis_0_of_a_2d_array():
    x = np.random.default_rng(3).standard_normal((4_000, 3))
    sos = signal.butter(2, 2.0, fs=25.0, output="sos")
    np.testing.assert_allclose(filters.sosfiltfilt(sos, x, axis=0), signal.sosfiltfilt(sos, x, axis=0), atol=1e-12)


def test_sosfiltfilt_refuses_a_series_no_longer_than_its_padding():
    sos = signal.butter(2, 3.0, fs=100.0, output="sos")
    with pytest.raises(ValueError):
        filters.sosfiltfilt(sos, np.zeros(9))


def test_find_peaks_and_prominences_match_scipy_with_plateaus_ties_and_distance():
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(1, 2_000))
        x = np.round(np.cumsum(rng.standard_normal(n)) * 2) / 2  # steps of 0.5: flat tops and equal peaks
        height, prominence = float(rng.uniform(-5, 5)), float(rng.uniform(0, 6))
        expected, props = signal.find_peaks(x, height=height, prominence=prominence)
        ours, our_props = filters.find_peaks(x, height=height, prominence=prominence)
        np.testing.assert_array_equal(ours, expected)
        np.testing.assert_array_equal(our_props["prominences"], props["prominences"])
        # the distance rule, on values without ties (SciPy breaks ties of equal heights its own way)
        y = x + rng.uniform(0, 1e-3, n)
        distance = int(rng.choice([2, 5, 40]))
        expected, props = signal.find_peaks(y, height=height, prominence=prominence, distance=distance)
        ours, our_props = filters.find_peaks(y, height=height, prominence=prominence, distance=distance)
        np.testing.assert_array_equal(ours, expected)
        np.testing.assert_array_equal(our_props["prominences"], props["prominences"])


@pytest.mark.parametrize("size", [1, 3, 7, 51])
def test_running_median_max_min_match_scipy_exactly(size):
    x = np.random.default_rng(size).standard_normal(1_001)
    np.testing.assert_array_equal(filters.median_filter(x, size=size), ndimage.median_filter(x, size=size,
                                                                                             mode="nearest"))
    steps = np.round(np.cumsum(np.random.default_rng(size).standard_normal(1_001) * 0.15))  # mostly constant
    steps[::97] += 3.0  # and isolated outliers
    np.testing.assert_array_equal(filters.median_filter(steps, size=size),
                                  ndimage.median_filter(steps, size=size, mode="nearest"))
    for size_any in (size, size + 1):
        np.testing.assert_array_equal(filters.maximum_filter1d(x, size=size_any),
                                      ndimage.maximum_filter1d(x, size=size_any, mode="nearest"))
        np.testing.assert_array_equal(filters.minimum_filter1d(x, size=size_any),
                                      ndimage.minimum_filter1d(x, size=size_any, mode="nearest"))


def test_the_analysis_does_not_import_scipy():
    """What the module is for: `hinge analyze` starts without SciPy's import time."""
    code = ("import sys, hinge.cli; hinge.cli.main(['analyze', sys.argv[1], '--json']); "
            "print('SCIPY', sorted(m for m in sys.modules if m.startswith('scipy')))")
    demo = str(Path(__file__).resolve().parents[2] / "recordings" / "demo-clean.csv")
    result = subprocess.run([sys.executable, "-c", code, demo], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("SCIPY []")
