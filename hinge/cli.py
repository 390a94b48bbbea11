"""The ``hinge`` command. Each package registers its own subcommands; errors become one line on stderr.

Diagnostics go through :mod:`logging` to stderr (``--log-level``, default warning); results go to stdout.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import logging
import sys
from collections.abc import Sequence

from hinge import __version__

# module path -> (the commands its ``register(subparsers)`` adds, the extra they need beyond the analysis core).
# Only the module of the command being run is imported (all of them for help), so `hinge analyze` does not load
# the web server or the Bluetooth stack, and works without them installed.
_COMMAND_MODULES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "hinge.server.cli_analysis": (("analyze", "simulate"), None),
    "hinge.firmware_bridge.cli_import": (("import",), None),
    "hinge.server.cli_serve": (("serve",), "server"),
    "hinge.firmware_bridge.cli": (("scan", "record", "emulate"), "ble"),
}
LOG_LEVELS = ("debug", "info", "warning", "error")
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default=None,
                        help="diagnostics on stderr from this level on (default: warning)")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser for ``command`` (all commands when None or unknown, e.g. for --help)."""
    parser = argparse.ArgumentParser(prog="hinge", description="Hip-hinge coaching from body-worn IMUs.")
    _add_global_options(parser)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    owners = [m for m, (commands, _) in _COMMAND_MODULES.items() if command in commands] or list(_COMMAND_MODULES)
    for module_name in owners:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if _missing_dependency(error) is None:
                raise
            _register_unavailable(subparsers, module_name, error)
        else:
            module.register(subparsers)
    return parser


def _register_unavailable(subparsers: argparse._SubParsersAction, module_name: str,
                          error: ModuleNotFoundError) -> None:
    """Commands whose module cannot be imported for want of an optional dependency: running one says so."""
    commands, extra = _COMMAND_MODULES[module_name]

    def handler(args: argparse.Namespace) -> int:
        raise error

    for command in commands:
        # no options of its own: every argument, dashed or not, is taken as is
        parser = subparsers.add_parser(command, help=f"(needs: pip install 'hinge[{extra}]')", add_help=False,
                                       prefix_chars="\0")
        parser.add_argument("arguments", nargs="*")
        parser.set_defaults(handler=handler)


def _missing_dependency(error: ModuleNotFoundError) -> str | None:
    """The top-level name of a missing third-party module, None when the missing module is hinge's own."""
    name = (error.name or "").partition(".")[0]
    return None if name in ("", "hinge") else name


def _missing_message(command: str, error: ModuleNotFoundError) -> str:
    extra = next((e for commands, e in _COMMAND_MODULES.values() if command in commands), None)
    missing = _missing_dependency(error)
    if extra is None:
        return f"no module named {missing!r}: the installation is incomplete (reinstall hinge)"
    return (f"needs the optional dependencies of hinge[{extra}] (no module named {missing!r}); "
            f"install them with: pip install 'hinge[{extra}]'")


def _command_in(argv: Sequence[str]) -> str | None:
    commands = {c for cs, _ in _COMMAND_MODULES.values() for c in cs}
    return next((a for a in argv if a in commands), None)


def _give_freed_arrays_back() -> None:
    """glibc raises its mmap threshold each time a large block is freed, after which freed NumPy arrays of up to
    32 MB stay in the heap and the process keeps its peak; a fixed 1 MB threshold returns them to the system
    (a 1-hour analysis peaks ~60 MB lower). Nothing happens on other C libraries."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, 1 << 20)


def main(argv: Sequence[str] | None = None) -> int:
    from hinge.analysis.errors import HingeError

    _give_freed_arrays_back()
    argv = list(sys.argv[1:] if argv is None else argv)
    # the global options are accepted before or after the command
    early = argparse.ArgumentParser(prog="hinge", add_help=False, allow_abbrev=False)
    _add_global_options(early)
    options, argv = early.parse_known_args(argv)
    if options.version:
        print(f"hinge {__version__}")
        return 0
    logging.basicConfig(level=(options.log_level or "warning").upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser(_command_in(argv)).parse_args(argv)
    args.log_level = options.log_level
    try:
        return int(args.handler(args) or 0)
    except HingeError as error:
        print(f"hinge {args.command}: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        if _missing_dependency(error) is None:
            raise
        print(f"hinge {args.command}: {_missing_message(args.command, error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hinge {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as error:
        print(f"hinge {args.command}: {error.strerror or error} ({getattr(error, 'filename', '') or ''})",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
