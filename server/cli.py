"""The ``hinge`` command. Each package registers its own subcommands; errors become one line on stderr."""

from __future__ import annotations

import argparse
import importlib
import sys

# module path -> it defines ``register(subparsers)``; imported lazily so `hinge analyze` starts fast
_COMMAND_MODULES = (
    "server.cli_analysis",
    "firmware_bridge.cli_import",
    "server.cli_serve",
    "firmware_bridge.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hinge", description="Hip-hinge coaching from body-worn IMUs.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from analysis.errors import HingeError

    args = build_parser().parse_args(argv)
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
