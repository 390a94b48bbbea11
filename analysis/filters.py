"""The few SciPy filters the offline analysis uses, on NumPy alone: importing ``scipy.signal`` or
``scipy.ndimage`` costs more than reading and analysing a short recording (~0.5 s against ~0.1 s).

Same names, arguments and results as SciPy's, for the cases used here (``tests/analysis/test_filters.py``
checks them against SciPy): :func:`butter` (low-pass, second-order sections), :func:`sosfiltfilt` (odd padding,
steady-state initial conditions), :func:`find_peaks` (``height``, ``prominence``, ``distance``), :func:`median_filter`,
:func:`maximum_filter1d` and :func:`minimum_filter1d` (``mode="nearest"``). The filters' results agree with
SciPy's to rounding (about 1e-12 relative: the recursion runs in vectorised blocks), the others exactly, except
that :func:`find_peaks` with ``distance`` may keep the other one of two equally high peaks (SciPy orders ties its
own way).
"""

from __future__ import annotations

import numpy as np


def butter(order: int, cutoff_hz: float, *, fs: float, output: str = "sos") -> np.ndarray:
    """Digital Butterworth low-pass (bilinear transform, pre-warped), as second-order sections (n, 6)."""
    if output != "sos" or order < 2 or order % 2 or not 0 < cutoff_hz < fs / 2:
        raise ValueError("only an even-order low-pass below Nyquist, as second-order sections")
    warped = 2 * fs * np.tan(np.pi * cutoff_hz / fs)
    analog = warped * np.exp(1j * np.pi * (2 * np.arange(1, order + 1) + order - 1) / (2 * order))
    poles = (2 * fs + analog) / (2 * fs - analog)
    gain = np.real(np.prod(warped / (2 * fs - analog)))  # all zeros at z = -1
    # conjugate pairs, the pair nearest the unit circle last, like SciPy's zpk2sos
    upper = sorted((p for p in poles if p.imag > 0), key=lambda p: abs(p))
    sos = np.array([np.concatenate([[1.0, 2.0, 1.0], np.poly([p, np.conj(p)]).real]) for p in upper])
    sos[0, :3] *= gain
    return sos


def sosfiltfilt(sos: np.ndarray, x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Zero-phase filtering (forward, then backward) with SciPy's defaults: odd extension of 3 x (2 x sections
    + 1) samples at each end, each pass starting from the filter's steady state. ``x`` 1-D or 2-D."""
    sos = np.atleast_2d(np.asarray(sos, dtype=float))
    data = np.moveaxis(np.asarray(x, dtype=float), axis, 0)
    ntaps = 2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    edge = 3 * ntaps
    if data.shape[0] <= edge:
        raise ValueError(f"the input must be longer than padlen ({edge})")
    ext = np.concatenate([2 * data[:1] - data[edge:0:-1], data, 2 * data[-1:] - data[-2:-edge - 2:-1]])
    zi = _sosfilt_zi(sos)
    y = _sosfilt(sos, ext, zi[:, :, None] * ext[0])
    y = _sosfilt(sos, y[::-1], zi[:, :, None] * y[-1])[::-1]
    return np.moveaxis(y[edge:-edge], 0, axis)


def _sosfilt_zi(sos: np.ndarray) -> np.ndarray:
    """Initial state (sections, 2) of each section for a unit step's steady state (scipy.signal.sosfilt_zi)."""
    zi = np.empty((len(sos), 2))
    scale = 1.0
    for s, (b0, b1, b2, a0, a1, a2) in enumerate(sos):
        b = np.array([b0, b1, b2]) / a0
        a = np.array([1.0, a1 / a0, a2 / a0])
        companion_t = np.array([[-a[1], 1.0], [-a[2], 0.0]])
        zi[s] = scale * np.linalg.solve(np.eye(2) - companion_t, b[1:] - a[1:] * b[0])
        scale *= b.sum() / a.sum()
    return zi


def _sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """Cascade of sections (direct form II transposed) along axis 0 of ``x`` (n,) or (n, m), from the state
    ``zi`` (sections, 2[, m]). Each section's recursion is split into two first-order ones over its poles
    (partial fractions), which :func:`_first_order` runs vectorised."""
    y = x.reshape(x.shape[0], -1).astype(float)
    for section, (z1, z2) in zip(sos, zi.reshape(len(sos), 2, -1)):
        b, a = section[:3] / section[3], section[3:] / section[3]
        if a[2] == 0 or a[1] ** 2 == 4 * a[2]:
            raise ValueError("each section needs two distinct poles (an even-order low-pass has them)")
        p1, p2 = np.roots(a).astype(complex)
        out = np.empty_like(y)
        out[0] = b[0] * y[0] + z1
        if y.shape[0] > 1:
            out[1] = b[0] * y[1] + b[1] * y[0] - a[1] * out[0] + z2
            v = b[0] * y[2:] + b[1] * y[1:-1] + b[2] * y[:-2]
            # y[n] = w1[n] + w2[n], w_i[n] = p_i w_i[n-1] + A_i v[n]; w_i[1] chosen to give out[0] and out[1]
            w1 = (out[0] - out[1] / p2) / (1 / p1 - 1 / p2)
            first = _first_order(p1, p1 / (p1 - p2) * v, w1)
            if p1.imag:  # conjugate poles: the second recursion is the conjugate of the first
                out[2:] = 2 * first.real
            else:
                out[2:] = (first + _first_order(p2, p2 / (p2 - p1) * v, out[1] - w1)).real
        y = out
    return y.reshape(x.shape)


def _first_order(pole: complex, u: np.ndarray, before: np.ndarray) -> np.ndarray:
    """``w[k] = pole * w[k - 1] + u[k]`` along axis 0 of ``u`` (n, m), with ``w[-1] = before`` (m,); |pole| < 1.

    In blocks short enough that ``pole ** -length`` stays below 1e3 (cumulative sums of ``u[j] pole ** -j``),
    then the carries from block to block, whose factor ``pole ** length`` is about 1e-3: a few terms suffice."""
    n = u.shape[0]
    radius = abs(pole)
    if n == 0 or radius < 1e-12:
        w = u.copy()
        w[:1] += pole * before
        return w
    length = max(1, min(n, int(np.log(1e3) / -np.log(radius))))
    blocks = -(-n // length)
    padded = np.zeros((blocks * length, u.shape[1]), dtype=complex)
    padded[:n] = u
    j = np.arange(length, dtype=float)
    local = np.cumsum(padded.reshape(blocks, length, -1) * (pole ** -j)[None, :, None], axis=1)
    local *= (pole ** j)[None, :, None]  # each block's response from rest
    q = pole ** length
    ends = local[:, -1]
    carry = (q ** np.arange(blocks, dtype=float))[:, None] * before[None, :]  # w just before each block
    for shift in range(blocks - 1):
        if abs(q) ** shift < 1e-18:
            break
        carry[1 + shift:] += q ** shift * ends[:blocks - 1 - shift]
    w = local + (pole ** (j + 1))[None, :, None] * carry[:, None, :]
    return w.reshape(blocks * length, -1)[:n]


def find_peaks(x: np.ndarray, *, height: float | None = None, prominence: float,
               distance: int | None = None) -> tuple[np.ndarray, dict]:
    """Indices of the local maxima of ``x`` (n,) (a flat top: its middle sample) at least ``height`` high,
    at least ``distance`` samples from a higher one (higher peaks kept first), and ``prominence`` above the
    higher of the lowest points between them and a higher sample on either side (or the series' end), as
    :func:`scipy.signal.find_peaks`; the dict holds their ``"prominences"``."""
    x = np.asarray(x, dtype=float)
    n = x.size
    if n < 3:
        return np.zeros(0, dtype=np.intp), {"prominences": np.zeros(0)}
    starts = np.flatnonzero(np.concatenate([[True], x[1:] != x[:-1]]))  # runs of equal values
    ends = np.concatenate([starts[1:], [n]]) - 1
    inner = (starts >= 1) & (ends <= n - 2)
    starts, ends = starts[inner], ends[inner]
    is_peak = (x[starts - 1] < x[starts]) & (x[ends + 1] < x[ends])
    maxima = (starts[is_peak] + ends[is_peak]) // 2  # every local maximum (a flat top: its middle sample)
    peaks = maxima[x[maxima] >= height] if height is not None else maxima
    if distance is not None and distance > 1 and peaks.size > 1:
        peaks = _spaced(x, peaks, distance)
    prominences = x[peaks] - np.maximum(_bases(x, maxima, peaks), _bases(x[::-1], n - 1 - maxima[::-1],
                                                                          n - 1 - peaks[::-1])[::-1])
    keep = prominences >= prominence
    return peaks[keep], {"prominences": prominences[keep]}


def _spaced(x: np.ndarray, peaks: np.ndarray, distance: int) -> np.ndarray:
    """The peaks that stay when, from the highest down, each removes the lower ones closer than ``distance``."""
    keep = np.ones(peaks.size, dtype=bool)
    for i in np.argsort(x[peaks], kind="stable")[::-1]:
        if not keep[i]:
            continue
        near = np.abs(peaks - peaks[i]) < distance
        near[i] = False
        keep &= ~near
    return peaks[keep]


def _bases(x: np.ndarray, maxima: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """Lowest value of ``x`` from each of ``peaks`` leftwards to the first sample higher than it (or the start).

    ``maxima``: sorted indices of all local maxima, of which ``peaks`` (sorted) is a subset. The first higher
    sample lies on the flank of the nearest higher local maximum (or before the start), and everything between
    that maximum and the sample is higher too, so the lowest value from that maximum on is the one sought. The
    nearest higher maximum is found for all peaks at once by binary lifting over a sparse table of running maxima
    (``table[level][k] = max(x[maxima[k:k + 2**level]])``); the lows by one ``minimum.reduceat``."""
    if peaks.size == 0:
        return np.zeros(0)
    heights = x[maxima]
    tables = [heights]
    while 1 << len(tables) <= heights.size:
        step = 1 << (len(tables) - 1)
        tables.append(np.maximum(tables[-1][:-step], tables[-1][step:]))
    at = np.searchsorted(maxima, peaks)  # each peak's place among the maxima
    top = heights[at]
    pos = at.copy()
    for level in range(len(tables) - 1, -1, -1):  # move left over blocks of maxima no higher than the peak
        start = pos - (1 << level)
        can = start >= 0
        can[can] = tables[level][start[can]] <= top[can]
        pos = np.where(can, start, pos)
    first = np.where(pos > 0, maxima[np.maximum(pos - 1, 0)], 0)
    return np.minimum.reduceat(x, np.column_stack([first, peaks + 1]).ravel())[::2]


def median_filter(x: np.ndarray, *, size: int, mode: str = "nearest") -> np.ndarray:
    """Running median of ``x`` (n,) over an odd ``size`` of samples centred on each, edges repeating the end
    values. A window of equal values is its own median: only the others are sorted (fast on piecewise-constant
    input)."""
    _check_nearest(mode)
    if size % 2 == 0:
        raise ValueError("only an odd size")
    padded = _pad_nearest(np.asarray(x), size)
    n = padded.size - size + 1
    out = padded[:n].copy()  # window k is padded[k:k + size]
    changes = np.flatnonzero(padded[1:] != padded[:-1])  # between padded[j] and padded[j + 1]
    uneven = np.zeros(n + size, dtype=bool)
    for back in range(size - 1):  # window k holds change j when k <= j <= k + size - 2
        uneven[np.maximum(changes - back, 0)] = True
    where = np.flatnonzero(uneven[:n])
    windows = np.lib.stride_tricks.sliding_window_view(padded, size)
    chunk = max(1, (1 << 21) // size)  # partition copies its input: a bounded number of windows at a time
    for i in range(0, where.size, chunk):
        part = where[i:i + chunk]
        out[part] = np.partition(windows[part], size // 2, axis=1)[:, size // 2]
    return out


def maximum_filter1d(x: np.ndarray, *, size: int, mode: str = "nearest") -> np.ndarray:
    """Running maximum of ``x`` (n,) over ``size`` samples (centred as SciPy's), edges repeating the end values."""
    return _running_extreme(x, size, mode, np.maximum)


def minimum_filter1d(x: np.ndarray, *, size: int, mode: str = "nearest") -> np.ndarray:
    """Running minimum of ``x`` (n,) over ``size`` samples (centred as SciPy's), edges repeating the end values."""
    return _running_extreme(x, size, mode, np.minimum)


def _running_extreme(x: np.ndarray, size: int, mode: str, extreme: np.ufunc) -> np.ndarray:
    """van Herk / Gil-Werman: prefix and suffix extremes within blocks of ``size``, O(n) whatever the size."""
    _check_nearest(mode)
    x = np.asarray(x)
    padded = _pad_nearest(x, size)
    blocks = -(-padded.size // size)
    tail = blocks * size - padded.size
    full = np.concatenate([padded, np.full(tail, padded[-1])]).reshape(blocks, size)
    prefix = extreme.accumulate(full, axis=1).ravel()
    suffix = extreme.accumulate(full[:, ::-1], axis=1)[:, ::-1].ravel()
    return extreme(suffix[:x.size], prefix[size - 1:size - 1 + x.size])


def _pad_nearest(x: np.ndarray, size: int) -> np.ndarray:
    """``x`` with its end values repeated so that window k (``size`` long) is centred as SciPy centres it."""
    before = size // 2
    after = size - 1 - before
    return np.concatenate([np.full(before, x[0]), x, np.full(after, x[-1])])


def _check_nearest(mode: str) -> None:
    if mode != "nearest":
        raise ValueError("only mode='nearest'")
