"""What a message must carry to its provider but nobody may read afterwards (a one-time
code), sealed for the outbox.

The message log keeps such a message masked; the real text rides in the message's outbox
payload, encrypted with AES-256-GCM under a key derived (HKDF-SHA256) from the
installation's secret key, bound to the message id (associated data), so a sealed text can
neither be read without the secret key nor moved onto another message. A retry unseals it
again; once the message is handed over (or given up), the worker drops it from the payload.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kassa.core.settings import get_settings

_INFO = b"kassa notifications sealed message v1"
_NONCE_BYTES = 12


class SealBroken(Exception):
    """The sealed text cannot be opened: another secret key, or it was tampered with."""


def _key() -> bytes:
    secret = get_settings().resolved_secret_key().encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret)


def _associated_data(message_id: int) -> bytes:
    return f"notification_messages:{message_id}".encode()


def seal(message_id: int, content: Mapping[str, Any]) -> str:
    """``content`` (JSON) encrypted for message ``message_id``, as URL-safe base64 text."""
    nonce = os.urandom(_NONCE_BYTES)
    plain = json.dumps(dict(content), ensure_ascii=False, sort_keys=True).encode()
    sealed = AESGCM(_key()).encrypt(nonce, plain, _associated_data(message_id))
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(message_id: int, text: str) -> dict[str, Any]:
    """What ``seal`` sealed for ``message_id``; SealBroken for anything else."""
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
        plain = AESGCM(_key()).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _associated_data(message_id))
        content = json.loads(plain)
    except (InvalidTag, ValueError, UnicodeError, binascii.Error) as error:
        raise SealBroken(f"the sealed text of message {message_id} cannot be opened") from error
    if not isinstance(content, dict):
        raise SealBroken(f"the sealed text of message {message_id} is not an object")
    return content
