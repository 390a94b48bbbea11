"""The demo recordings (data only): installed as ``hinge.recordings`` so ``hinge serve`` finds them anywhere."""
