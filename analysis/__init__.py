"""Numerical core of hinge: recording → calibration → orientation → angles → reps → metrics → report.

Pure science on arrays. Never imports bleak or FastAPI; touches the filesystem only through
:mod:`analysis.recording_format`. Frames and sign conventions: ``docs/conventions.md``.
"""
