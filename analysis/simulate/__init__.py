"""Physics-based simulator of hip-hinge sessions with ground truth (pelvis and thorax segments, sensors on
lever arms in any mounting, realistic sensor and link errors). Used by the tests, the accuracy benchmark, the
demo recordings and the BLE emulators."""

from .engine import GroundTruth, Simulation, simulate
from .families import FAMILIES, PRESETS, simulate_family, simulate_preset
from .plan import RepPlan, SessionPlan

__all__ = ["FAMILIES", "PRESETS", "GroundTruth", "RepPlan", "SessionPlan", "Simulation", "simulate", "simulate_family",
           "simulate_preset"]
