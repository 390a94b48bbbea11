"""The ``hinge`` command. Each package registers its own subcommands; errors become one line on stderr."""

from __future__ import annotations

import argparse
import importlib
import sys

# module path -> the commands its ``register(subparsers)`` adds. Only the module of the command being run is
# imported (all of them for help), so `hinge analyze` does not load the web server or the Bluetooth stack.
_COMMAND_MODULES = {
    "hinge.server.cli_analysis": ("analyze", "simulate"),
    "hinge.firmware_bridge.cli_import": ("import",),
    "hinge.server.cli_serve": ("serve",),
    "hinge.firmware_bridge.cli": ("scan", "record", "emulate"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser for ``command`` (all commands when None or unknown, e.g. for --help)."""
    parser = argparse.ArgumentParser(prog="hinge", description="Hip-hinge coaching from body-worn IMUs.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    owners = [m for m, commands in _COMMAND_MODULES.items() if command in commands] or list(_COMMAND_MODULES)
    for module_name in owners:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from hinge.analysis.errors import HingeError

    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except HingeError as error:
        print(f"hinge {args.command}: {error}", file=sys.stderr)
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
