"""Secrets in the browser's storage are sealed, never kept raw.

NiceGUI keeps ``app.storage.user`` on the server as one JSON file per browser (under
``NICEGUI_STORAGE_PATH``, ``var/nicegui`` with ``kassa run``). The session tokens and the
register's device token kept there are encrypted (Fernet: AES-128-CBC with an HMAC-SHA256
tag) with a key derived from Kassa's secret key (``KASSA_SECRET_KEY`` or
``var/secret.key``). A storage file that leaks alone (a backup, a copied folder) holds no
usable token; whoever also has the secret key can forge the browser's signed storage
cookie anyway, so this key is the right one to guard them with. A value that does not
decrypt (another secret key, a raw token from before) reads as no token: the browser logs
in again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from kassa.core.settings import get_settings

_PURPOSE = b"kassa browser storage tokens v1"


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    key = hmac.new(secret_key.encode(), _PURPOSE, hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str, secret_key: str | None = None) -> str:
    """``secret`` encrypted for the browser's storage."""
    fernet = _fernet(secret_key or get_settings().resolved_secret_key())
    return fernet.encrypt(secret.encode()).decode("ascii")


def unseal(sealed: object, secret_key: str | None = None) -> str | None:
    """The secret in a sealed value, or None when it is missing or does not decrypt."""
    if not isinstance(sealed, str) or not sealed:
        return None
    fernet = _fernet(secret_key or get_settings().resolved_secret_key())
    try:
        return fernet.decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError):
        return None
