"""Server configuration in one place: command-line flags of ``hinge serve`` override ``HINGE_*`` variables."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hinge.analysis.errors import HingeError

DEMO_RECORDINGS_DIR = Path(str(files("hinge.recordings")))  # the shipped demos, installed or in a checkout


def default_data_dir() -> Path:
    """``data/`` of the checkout when run from one (``bash run.sh``), else the user's data directory."""
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():
        return checkout / "data"
    return Path(platformdirs.user_data_dir("hinge", appauthor=False))


class Settings(BaseSettings):
    """Where sessions live and what the server accepts.

    Every field can be set from the environment, e.g. ``HINGE_DATA_DIR=/srv/hinge``,
    ``HINGE_MAX_UPLOAD_BYTES=104857600``, ``HINGE_DEMO_DIR=none`` (no demo import).
    """

    model_config = SettingsConfigDict(env_prefix="HINGE_", env_parse_none_str="none")

    data_dir: Path = Field(default_factory=default_data_dir, description="SQLite database and raw recordings")
    # an hour of two sensors at 200 Hz is about 100 MB
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, gt=0, description="largest accepted request body")
    token: str | None = Field(
        default=None, description="access token for ingest and API changes (hinge serve makes one off loopback)"
    )
    allowed_hosts: tuple[str, ...] = Field(
        default=("localhost", "127.0.0.1", "::1"),
        description="names the server answers to in the Host header (hinge serve adds its LAN address and host "
        "name); e.g. HINGE_ALLOWED_HOSTS='[\"hinge.lan\"]'",
    )
    demo_dir: Path | None = Field(
        default=DEMO_RECORDINGS_DIR, description="recordings imported on first start with an empty database"
    )

    @field_validator("token")
    @classmethod
    def _usable_token(cls, token: str | None) -> str | None:
        from .auth import check_token

        return None if token is None else check_token(token)


class SettingsError(HingeError):
    """A ``HINGE_*`` variable or flag the server cannot start with."""


def load_settings(**overrides) -> Settings:
    """:class:`Settings` from the environment and ``overrides``; a bad value raises one-line SettingsError."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        where = "HINGE_" + "_".join(str(p) for p in first["loc"]).upper()
        raise SettingsError(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None
