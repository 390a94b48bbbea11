"""What a real IMU and its link do to the ideal signals: sampling on a drifting clock, scale and
misalignment errors, bias, noise, saturation, quantisation, timestamp jitter, batching and dropouts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from .kinematics import G_MPS2


@dataclass(frozen=True)
class SensorErrors:
    """Error model of one sensor; every field is in the unit its name says."""

    sampling_rate_hz: float
    clock_drift_ppm: float = 0.0
    clock_offset_s: float = 0.0          # error of this sensor's stamps against the shared time base
    acc_noise_mps2: float = 0.0
    gyr_noise_radps: float = 0.0
    acc_bias_mps2: float = 0.0           # magnitude of a random constant bias vector
    gyr_bias_radps: float = 0.0          # magnitude of a random constant bias vector
    gyr_bias_walk_radps: float = 0.0     # RMS of a slow (0.01 Hz) bias wander
    scale_error: float = 0.0             # RMS relative scale error per axis
    misalignment_deg: float = 0.0        # RMS axis misalignment
    acc_range_g: float = 16.0
    gyr_range_dps: float = 2000.0
    quantise: bool = True                # int16 over the full-scale ranges
    jitter_s: float = 0.0                # RMS timestamp jitter
    batch_size: int = 1                  # samples stamped together on arrival (BLE batching)
    dropout_count: int = 0
    dropout_max_s: float = 0.0


@dataclass(frozen=True)
class SampledSensor:
    """What the recording gets (``stamp_s``, ``acc_mps2``, ``gyr_radps``) and when each sample really was taken."""

    stamp_s: np.ndarray
    true_time_s: np.ndarray
    acc_mps2: np.ndarray
    gyr_radps: np.ndarray
    dropped_intervals_s: list[tuple[float, float]]


def _interp(grid_t: np.ndarray, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.column_stack([np.interp(t, grid_t, values[:, k]) for k in range(values.shape[1])])


def _random_unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal(3)
    return v / np.linalg.norm(v)


def sample_sensor(
    rng: np.random.Generator,
    grid_t: np.ndarray,
    acc_mps2: np.ndarray,
    gyr_radps: np.ndarray,
    errors: SensorErrors,
    *,
    start_s: float,
    end_s: float,
    outages_s: tuple[tuple[float, float], ...] | list[tuple[float, float]] = (),
) -> SampledSensor:
    """Sample ideal signals (on ``grid_t``) the way ``errors`` describes, between ``start_s`` and ``end_s``.

    Shapes: ``grid_t`` (n,), ``acc_mps2`` / ``gyr_radps`` (n, 3) in sensor axes.
    """
    period_s = (1.0 + errors.clock_drift_ppm * 1e-6) / errors.sampling_rate_hz
    true_t = start_s + period_s * np.arange(int((end_s - start_s) / period_s))
    acc = _interp(grid_t, acc_mps2, true_t)
    gyr = _interp(grid_t, gyr_radps, true_t)

    distortion = np.diag(1.0 + errors.scale_error * rng.standard_normal(3))
    misalignment = Rotation.from_rotvec(np.radians(errors.misalignment_deg) * rng.standard_normal(3))
    distortion = distortion @ misalignment.as_matrix()
    acc = acc @ distortion.T + errors.acc_bias_mps2 * _random_unit(rng)
    gyr = gyr @ distortion.T + errors.gyr_bias_radps * _random_unit(rng)
    if errors.gyr_bias_walk_radps > 0:
        from .timeline import smooth_noise

        walk = np.column_stack([
            smooth_noise(rng, true_t.size, rate_hz=errors.sampling_rate_hz, cutoff_hz=0.01,
                         amplitude=errors.gyr_bias_walk_radps)
            for _ in range(3)
        ])
        gyr = gyr + walk
    acc = acc + errors.acc_noise_mps2 * rng.standard_normal(acc.shape)
    gyr = gyr + errors.gyr_noise_radps * rng.standard_normal(gyr.shape)

    acc_full = errors.acc_range_g * G_MPS2
    gyr_full = np.radians(errors.gyr_range_dps)
    acc = np.clip(acc, -acc_full, acc_full)
    gyr = np.clip(gyr, -gyr_full, gyr_full)
    if errors.quantise:
        acc = np.round(acc / (acc_full / 32768)) * (acc_full / 32768)
        gyr = np.round(gyr / (gyr_full / 32768)) * (gyr_full / 32768)

    stamp = true_t + errors.clock_offset_s + errors.jitter_s * rng.standard_normal(true_t.size)
    if errors.batch_size > 1:  # a batch is stamped with its last sample's arrival time
        batch_end = np.minimum((np.arange(true_t.size) // errors.batch_size + 1) * errors.batch_size - 1,
                               true_t.size - 1)
        stamp = stamp[batch_end]
    stamp = np.maximum.accumulate(stamp)

    keep = np.ones(true_t.size, dtype=bool)
    dropped: list[tuple[float, float]] = []
    for _ in range(errors.dropout_count):
        length = rng.uniform(0.3, 1.0) * errors.dropout_max_s
        begin = rng.uniform(true_t[0] + 3.0, max(true_t[0] + 3.5, true_t[-1] - length - 1.0))
        lost = (true_t >= begin) & (true_t < begin + length)
        if errors.batch_size > 1:  # a lost packet takes its whole batch
            batch = np.arange(true_t.size) // errors.batch_size
            lost = np.isin(batch, np.unique(batch[lost]))
        keep &= ~lost
        dropped.append((begin, begin + length))
    for begin, end in outages_s:  # the link is down for a long time: nothing arrives
        keep &= ~((true_t >= begin) & (true_t < end))
        dropped.append((begin, end))
    return SampledSensor(stamp[keep], true_t[keep], acc[keep], gyr[keep], dropped)
