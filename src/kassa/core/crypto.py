"""Encrypting single fields at rest (payment providers' secrets; later personal data).

One value in, one printable token out: ``enc1:<key id>:<base64url(nonce | ciphertext)>``,
AES-256-GCM with a fresh 96-bit nonce per value. The ``context`` (say
``"payment_provider_settings:7:wechat_pay"``) is bound in as associated data, so a token
copied into another row or column does not decrypt there.

Keys come from ``KASSA_ENCRYPTION_KEY``: one or more keys, comma-separated, each 32 random
bytes in base64 (:func:`generate_key` makes one). The first key encrypts; every
listed key decrypts, each token naming its key by the id in its prefix (the first 8 hex
digits of a hash of the key, so a key needs no name). To rotate: put a new key first, keep
the old ones after it, and re-encrypt (``FieldCipher.rotate``) at leisure; a token whose key
is no longer listed cannot be read and says which key it needs. Without the setting, the
embedded setup generates one key into ``var/encryption.key`` (mode 0600).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Sequence
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kassa.core.errors import KassaError

TOKEN_PREFIX = "enc1"  # noqa: S105 - the format tag of a token, not a secret
KEY_BYTES = 32
NONCE_BYTES = 12


class DecryptionFailed(KassaError):
    """A stored secret cannot be read: its key is not configured (any more), or the token was
    changed or copied from another field. Never carries the token or the plaintext."""

    status = 500
    code = "decryption_failed"
    title = "Stored secret cannot be decrypted"


def generate_key() -> str:
    """A new key in the form ``KASSA_ENCRYPTION_KEY`` takes."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def parse_keys(text: str) -> list[bytes]:
    """The keys of a ``KASSA_ENCRYPTION_KEY`` value (comma-separated base64, first one
    current). A ValueError names the position of a bad key, never its text."""
    keys: list[bytes] = []
    for position, part in enumerate((part.strip() for part in text.split(",")), start=1):
        if not part:
            continue
        padded = part + "=" * (-len(part) % 4)
        try:
            key = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != KEY_BYTES:
            raise ValueError(
                f"encryption key {position} is not {KEY_BYTES} bytes in base64 "
                "(see KASSA_ENCRYPTION_KEY in the README)"
            )
        keys.append(key)
    if not keys:
        raise ValueError("no encryption key given")
    return keys


def key_id(key: bytes) -> str:
    """A short public name of a key: it tells which key a token needs, and reveals nothing."""
    return hashlib.sha256(b"kassa-encryption-key-id:" + key).hexdigest()[:8]


class FieldCipher:
    """Encrypts with the first key, decrypts with any of them (see the module docstring)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("a cipher needs at least one key")
        for key in keys:
            if len(key) != KEY_BYTES:
                raise ValueError(f"an encryption key is {KEY_BYTES} bytes")
        self._current_id = key_id(keys[0])
        self._ciphers = {key_id(key): AESGCM(key) for key in keys}

    @property
    def current_key_id(self) -> str:
        return self._current_id

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[self._current_id].encrypt(nonce, plaintext.encode(), context.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{TOKEN_PREFIX}:{self._current_id}:{body}"

    def decrypt(self, token: str, *, context: str) -> str:
        prefix, _, rest = token.partition(":")
        token_key_id, _, body = rest.partition(":")
        if prefix != TOKEN_PREFIX or not token_key_id or not body:
            raise DecryptionFailed(f"{context}: not an encrypted value")
        cipher = self._ciphers.get(token_key_id)
        if cipher is None:
            raise DecryptionFailed(
                f"{context}: encrypted with key {token_key_id}, which KASSA_ENCRYPTION_KEY does not list"
            )
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plaintext = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except (InvalidTag, ValueError, binascii.Error):
            raise DecryptionFailed(f"{context}: the value was changed or belongs elsewhere") from None
        return plaintext.decode()

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is encrypted with the current key (else ``rotate`` it)."""
        return token.startswith(f"{TOKEN_PREFIX}:{self._current_id}:")

    def rotate(self, token: str, *, context: str) -> str:
        """The same plaintext under the current key (the token itself when it already is)."""
        if self.is_current(token):
            return token
        return self.encrypt(self.decrypt(token, context=context), context=context)


@lru_cache
def field_cipher() -> FieldCipher:
    """The installation's cipher, from ``KASSA_ENCRYPTION_KEY`` or ``var/encryption.key``."""
    from kassa.core.settings import get_settings

    return FieldCipher(parse_keys(get_settings().resolved_encryption_key()))
