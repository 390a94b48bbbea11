"""The Jinja2 environment shared by the page routes and the error pages (autoescape on for every template)."""

from __future__ import annotations

from pathlib import Path

import jinja2
from fastapi.templating import Jinja2Templates

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"), autoescape=True
)
templates = Jinja2Templates(env=_environment)
