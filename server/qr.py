"""QR codes for URLs: inline SVG for the live page, half-block text for the terminal (``qrcode`` package)."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg


def qr_svg(url: str) -> str:
    """``url`` as an SVG element (no XML declaration), scalable through CSS."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    return image.to_string(encoding="unicode")


def qr_text(url: str) -> str:
    """``url`` as lines of half-block characters, drawn light-on-dark so it scans from the usual dark terminal."""
    code = qrcode.QRCode(border=2)
    code.add_data(url)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    return out.getvalue()
