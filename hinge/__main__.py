"""``python -m hinge``: the same front door as the ``hinge`` command."""

import sys

from hinge.cli import main

sys.exit(main())
