"""``hinge serve``: the web app (session list, reports, history, JSON API) under uvicorn."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="start the web app", description="Serve the session list, reports and JSON API."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the database and recordings live (default ./data, or HINGE_DATA_DIR)")
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app
    from .settings import Settings

    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir is not None else {}))
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{args.port}/"

    app = create_app(settings)

    class AnnouncingServer(uvicorn.Server):
        """Prints the URL once the demo sessions are in and the socket listens."""

        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            if not self.should_exit:
                count = app.state.store.count()
                print(f"hinge: open {url} ({count} session{'s' * (count != 1)} in {settings.data_dir.resolve()})",
                      flush=True)

    server = AnnouncingServer(uvicorn.Config(app, host=args.host, port=args.port, log_level="info"))
    server.run()
    return 0 if server.started else 2
