"""hinge: hip-hinge coaching from one or two body-worn IMUs.

The owner's folders install as sub-packages of this one: ``analysis/`` as :mod:`hinge.analysis`,
``firmware_bridge/`` as :mod:`hinge.firmware_bridge`, ``server/`` as :mod:`hinge.server`.
"""

__version__ = "0.1.0"
