"""Settings read from the environment (``KASSA_*``) once per process."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KASSA_", extra="ignore")

    # Default: SQLite in the var directory (``<var_dir>/kassa.db``, an absolute path), so
    # KASSA_VAR_DIR alone moves everything Kassa writes, whatever directory it runs from.
    database_url: str = ""
    var_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str | None = None
    # Encrypts secrets at rest (payment providers' keys): one or more comma-separated keys,
    # the first encrypts (see core/crypto.py); default: one generated into var/encryption.key.
    encryption_key: SecretStr | None = None

    pin_max_attempts: int = Field(default=5, ge=1)
    pin_lockout_minutes: int = Field(default=15, ge=1)
    session_hours: int = Field(default=12, ge=1)
    # Back-office password logins: this many failures in a row lock the e-mail address
    # (per account) or the client address (per address, higher: a shop shares one) for
    # 1, 2, 4, ... minutes, doubling with each lockout up to the cap.
    password_max_attempts_per_account: int = Field(default=5, ge=1)
    password_max_attempts_per_address: int = Field(default=20, ge=1)
    password_lockout_base_minutes: int = Field(default=1, ge=1)
    password_lockout_max_minutes: int = Field(default=60, ge=1)
    # "cheapest" exists for tests only: argon2 at full cost makes a suite of logins slow.
    password_hash_profile: Literal["default", "cheapest"] = "default"  # noqa: S105
    default_locale: str = "zh_CN"
    enable_ui: bool = True
    # The address customers reach Kassa at (printed as the e-receipt QR code); default: host:port.
    public_url: str | None = None
    # The outbox worker (printing, messages) runs inside the server; it may be turned off
    # when `kassa worker` runs as a process of its own (both at once are safe too).
    run_worker_in_process: bool = True
    # "postgres": events (a bill changed, a printer failed) also reach the other processes
    # over LISTEN/NOTIFY. Needed by every process when Kassa runs as several
    # (`kassa api --workers N`, a separate `kassa worker`); PostgreSQL only.
    event_bus: Literal["process", "postgres"] = "process"
    # The daily housekeeping purge: days kept after a message was sent (print jobs hold
    # their bytes), after it died (longer: someone may still look into it), and after an
    # answered idempotency key was first used (far beyond any client's retry).
    outbox_sent_retention_days: int = Field(default=30, ge=1)
    outbox_dead_retention_days: int = Field(default=180, ge=1)
    idempotency_retention_days: int = Field(default=30, ge=1)

    @model_validator(mode="after")
    def _database_in_the_var_directory(self) -> Settings:
        if not self.database_url.strip():
            self.database_url = default_database_url(self.var_dir)
        return self

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def printers_dir(self) -> Path:
        """The only folder printer files may be in (``file://`` destinations)."""
        return self.var_dir.resolve() / "printers"

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once and kept under ``var/`` (0600)."""
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret.key"
        if not path.exists():
            make_private_directory(path.parent)
            try:
                # O_EXCL: of two processes starting at once, one writes the key, both read it.
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
            except FileExistsError:
                pass
            else:
                with os.fdopen(descriptor, "w") as file:
                    file.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    def resolved_encryption_key(self) -> str:
        """``KASSA_ENCRYPTION_KEY``, or one key generated once into ``var/encryption.key``."""
        if self.encryption_key is not None and self.encryption_key.get_secret_value().strip():
            return self.encryption_key.get_secret_value()
        return _generated_file(
            self.var_dir / "encryption.key",
            lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        )

    def resolved_payment_simulator_key(self) -> str:
        """This installation's key for signing the payment simulator's notifications,
        generated once into ``var/payment-simulator.key``: never a default others know."""
        return _generated_file(self.var_dir / "payment-simulator.key", lambda: secrets.token_urlsafe(32))


def default_database_url(var_dir: Path) -> str:
    """SQLite in ``var_dir``, by absolute path (a relative one would follow the working
    directory of whoever starts Kassa)."""
    return f"sqlite+aiosqlite:///{var_dir.resolve() / 'kassa.db'}"


def _generated_file(path: Path, make: Callable[[], str]) -> str:
    """The content of ``path``; made first (readable by this user only) if it is missing.
    Written aside and linked into place, so a process starting at the same moment reads
    either nothing (and makes its own attempt) or the whole key, never half of it."""
    if not path.exists():
        make_private_directory(path.parent)
        draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(make())
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: everyone uses theirs
        finally:
            draft.unlink()
    return path.read_text().strip()


# Files under the var directory (secret key, SQLite database, printer files, browser
# storage) are the owner's alone; so are its folders.
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIRECTORY_MODE = 0o700
PRIVATE_UMASK = 0o077


def make_private_directory(path: Path) -> Path:
    """Create ``path`` (and missing parents) readable by this user only."""
    path.mkdir(mode=PRIVATE_DIRECTORY_MODE, parents=True, exist_ok=True)
    return path


def prepare_var_directory(settings: Settings) -> Path:
    """Make every file the process creates from now on private (umask 077: SQLite's
    database, WAL and journal files, NiceGUI's storage files, printer files), and create
    the var directory 0700, tightening it if it exists (its contents are then out of reach
    of other users whatever their own modes)."""
    os.umask(PRIVATE_UMASK)
    directory = make_private_directory(settings.var_dir)
    directory.chmod(PRIVATE_DIRECTORY_MODE)
    return directory


@lru_cache
def get_settings() -> Settings:
    return Settings()
