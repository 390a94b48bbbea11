"""How often the handedness check is sure, and whether it is ever wrong.

Run: ``.venv/bin/python bench/axes.py [--seeds 3] [DIR]``. Every simulator family in both frames (as recorded,
and with one axis mirrored by the "exporter"), then every ``*.csv`` recording in ``DIR`` (taken to be
right-handed, e.g. ``../shared/real-dev``). Counts per sensor: the check's verdict right, wrong or unsure
(confidence below :data:`analysis.units.AXES_CONFIDENCE`). No importer frame metadata is used: this measures the
data check alone.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from hinge.analysis.recording import Recording
from hinge.analysis.recording_format import read_recording
from hinge.analysis.resample import regularize
from hinge.analysis.simulate import FAMILIES, simulate
from hinge.analysis.units import decide_axes, decide_units, to_canonical


def verdicts(recording: Recording, truth: str) -> Counter:
    canonical = to_canonical(recording, decide_units(recording, acc_unit="auto", gyr_unit="auto"))
    streams = {n: regularize(n, s) for n, s in canonical.sensors.items()}
    out: Counter = Counter()
    for decision in decide_axes(streams, {}).values():
        out["unsure" if decision.check == "unsure" else "right" if decision.check == truth else "wrong"] += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", help="a folder of right-handed hinge-recording/1 files")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per family and frame (default 3)")
    args = parser.parse_args()
    simulated: Counter = Counter()
    for family in FAMILIES:
        for seed in range(args.seeds):
            plan = FAMILIES[family](np.random.default_rng(seed))
            for mirror_axis in (plan.mirror_axis, 2 if plan.mirror_axis is None else None):
                frame = "right-handed" if mirror_axis is None else "left-handed"
                sim = simulate(replace(plan, mirror_axis=mirror_axis), seed=seed)
                simulated += verdicts(sim.recording, frame)
    print(f"simulator ({len(FAMILIES)} families x {args.seeds} seeds x 2 frames), per sensor: {dict(simulated)}")
    if args.folder:
        real: Counter = Counter()
        files = sorted(Path(args.folder).glob("*.csv"))
        for path in files:
            real += verdicts(read_recording(path), "right-handed")
        print(f"{args.folder} ({len(files)} recordings), per sensor: {dict(real)}")


if __name__ == "__main__":
    main()
