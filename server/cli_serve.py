"""``hinge serve``: the web app (session list, reports, history, live view, JSON API) under uvicorn."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

LOOP_SWITCH_INTERVAL_S = 0.0005


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="start the web app", description="Serve the session list, reports, live view and JSON API."
    )
    parser.add_argument("--host", default=None,
                        help="address to listen on (default 127.0.0.1; 0.0.0.0, every interface, with --https)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the database and recordings live (default: HINGE_DATA_DIR, else data/ of the "
                             "checkout run from, else the user's data directory)")
    parser.add_argument("--https", action="store_true",
                        help="serve over TLS with a self-signed certificate for the LAN address (phones' motion "
                             "sensors need a secure page) and print the phone's URL as a QR code")
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app
    from .auth import new_token
    from .live import MAX_MESSAGE_BYTES
    from .qr import qr_text
    from .settings import load_settings
    from .tls import is_loopback, lan_address, self_signed_certificate

    listen = args.host or ("0.0.0.0" if args.https else "127.0.0.1")
    settings = load_settings(**({"data_dir": args.data_dir} if args.data_dir is not None else {}))
    if settings.token is None and not is_loopback(listen):
        settings.token = new_token()
    shown = lan_address() if listen in ("0.0.0.0", "::") else listen
    settings.allowed_hosts = served_names(settings.allowed_hosts, listen, shown)
    host = f"[{shown}]" if ":" in shown else shown
    base = f"{'https' if args.https else 'http'}://{host}:{args.port}/"
    with_token = f"?token={settings.token}" if settings.token else ""
    tls: dict[str, Any] = {}
    if args.https:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = self_signed_certificate(settings.data_dir, shown)
        tls = {"ssl_certfile": str(cert_path), "ssl_keyfile": str(key_path)}

    app = create_app(settings)
    # the live analysis runs in worker threads: hand the interpreter lock back to the event loop sooner than the
    # default 5 ms, so ingest, acknowledgements and pages are not queued behind a busy analysis
    sys.setswitchinterval(LOOP_SWITCH_INTERVAL_S)

    class AnnouncingServer(uvicorn.Server):
        """Prints the URLs (and the phone's QR code) once the demo sessions are in and the socket listens."""

        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            if self.should_exit:
                return
            count = app.state.store.count()
            print(f"hinge: open {base}{with_token} ({count} session{'s' * (count != 1)} in "
                  f"{settings.data_dir.resolve()})", flush=True)
            if settings.token:
                print(f"hinge: access token {settings.token} (ingest and changes need it; the URLs carry it)",
                      flush=True)
            if args.https:
                phone_url = f"{base}phone{with_token}"
                print(f"hinge: phone as a sensor: {phone_url} (scan; accept the self-signed certificate once)\n"
                      f"{qr_text(phone_url)}", flush=True)

    log_level = getattr(args, "log_level", None) or "info"  # uvicorn logs requests at info
    server = AnnouncingServer(uvicorn.Config(app, host=listen, port=args.port, log_level=log_level,
                                             ws_max_size=MAX_MESSAGE_BYTES + 1024, **tls))
    server.run()
    return 0 if server.started else 2


def served_names(configured: tuple[str, ...], listen: str, shown: str) -> tuple[str, ...]:
    """The Host names to answer to: the configured ones, the listening and shown addresses and, on every
    interface, this machine's host name (also as ``NAME.local``)."""
    import socket

    names = [*configured, listen, shown]
    if listen in ("0.0.0.0", "::"):
        host = socket.gethostname().lower()
        names += [host, f"{host}.local"]
    return tuple(dict.fromkeys(names))
