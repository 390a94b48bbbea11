"""Presentation: the `hinge` command line and the FastAPI app. Calls `analysis/` and `firmware_bridge/`."""
