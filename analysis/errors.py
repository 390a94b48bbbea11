"""Typed errors of the analysis package. The CLI and the server turn them into one-line messages."""


class HingeError(Exception):
    """Base class of every error hinge reports to a user as one line."""


class RecordingError(HingeError):
    """A recording file or stream is malformed: the message says what and where (line, column, value)."""


class AnalysisError(HingeError):
    """A well-formed recording that cannot be analysed (e.g. too short, no motion at all)."""
