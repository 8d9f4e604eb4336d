"""Field encryption: AES-256-GCM tokens that name their key, bound to their context."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kassa.core.crypto import DecryptionFailed, FieldCipher, generate_key, key_id, parse_keys
from kassa.core.settings import Settings

# Fixed keys: test ids must be the same in every pytest-xdist worker.
OLD_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
NEW_KEY = base64.urlsafe_b64encode(bytes(range(32, 64))).decode()


def cipher(*keys: str) -> FieldCipher:
    return FieldCipher(parse_keys(",".join(keys)))


@given(st.text(max_size=2000), st.text(min_size=1, max_size=80))
def test_what_is_encrypted_decrypts_to_the_same_text(plaintext: str, context: str) -> None:
    fields = cipher(NEW_KEY)

    token = fields.encrypt(plaintext, context=context)

    assert fields.decrypt(token, context=context) == plaintext


def test_a_token_names_its_key_and_hides_the_plaintext() -> None:
    fields = cipher(NEW_KEY)

    token = fields.encrypt("-----BEGIN PRIVATE KEY-----secret", context="row:1")
    again = fields.encrypt("-----BEGIN PRIVATE KEY-----secret", context="row:1")

    prefix, token_key_id, _body = token.split(":")
    assert (prefix, token_key_id) == ("enc1", key_id(parse_keys(NEW_KEY)[0]))
    assert "secret" not in token
    assert "PRIVATE" not in token
    assert token != again  # a fresh nonce for every value


def test_a_token_moved_to_another_context_does_not_decrypt() -> None:
    fields = cipher(NEW_KEY)
    token = fields.encrypt("apiv3-key", context="payment_provider_settings:1:wechat_pay")

    with pytest.raises(DecryptionFailed, match="belongs elsewhere"):
        fields.decrypt(token, context="payment_provider_settings:2:wechat_pay")


def test_a_changed_token_does_not_decrypt() -> None:
    fields = cipher(NEW_KEY)
    token = fields.encrypt("apiv3-key", context="c")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]

    with pytest.raises(DecryptionFailed):
        fields.decrypt(flipped, context="c")
    with pytest.raises(DecryptionFailed, match="not an encrypted value"):
        fields.decrypt("plain text", context="c")


def test_rotation_new_key_first_old_keys_still_decrypt_and_rotate_re_encrypts() -> None:
    old_token = cipher(OLD_KEY).encrypt("merchant key", context="c")
    rotated_cipher = cipher(NEW_KEY, OLD_KEY)

    assert not rotated_cipher.is_current(old_token)
    assert rotated_cipher.decrypt(old_token, context="c") == "merchant key"
    new_token = rotated_cipher.rotate(old_token, context="c")
    assert rotated_cipher.is_current(new_token)
    assert rotated_cipher.rotate(new_token, context="c") == new_token
    # once the old key is dropped, only the re-encrypted token can be read
    assert cipher(NEW_KEY).decrypt(new_token, context="c") == "merchant key"
    with pytest.raises(DecryptionFailed, match=f"key {key_id(parse_keys(OLD_KEY)[0])}"):
        cipher(NEW_KEY).decrypt(old_token, context="c")


@pytest.mark.parametrize("value", ["", "short", "!" * 44, OLD_KEY + ",tooshort"])
def test_keys_that_are_not_32_bytes_of_base64_are_refused_without_echoing_them(value: str) -> None:
    with pytest.raises(ValueError, match="encryption key") as refused:
        parse_keys(value)
    assert "tooshort" not in str(refused.value)


def test_the_embedded_setup_generates_one_key_readable_by_its_owner_only(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var")

    first = settings.resolved_encryption_key()
    second = Settings(var_dir=tmp_path / "var").resolved_encryption_key()

    path = tmp_path / "var" / "encryption.key"
    assert first == second
    assert len(parse_keys(first)) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [entry.name for entry in (tmp_path / "var").iterdir()] == ["encryption.key"]


def test_the_configured_key_wins_over_the_generated_file(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, encryption_key=NEW_KEY)

    assert settings.resolved_encryption_key() == NEW_KEY
    assert not (tmp_path / "encryption.key").exists()


def test_the_payment_simulator_key_is_generated_per_installation(tmp_path: Path) -> None:
    one = Settings(var_dir=tmp_path / "one").resolved_payment_simulator_key()
    other = Settings(var_dir=tmp_path / "other").resolved_payment_simulator_key()

    assert one != other
    assert one != "kassa-simulator"
    assert stat.S_IMODE((tmp_path / "one" / "payment-simulator.key").stat().st_mode) == 0o600


def test_generated_keys_are_fresh_32_byte_keys() -> None:
    first, second = generate_key(), generate_key()

    assert first != second
    assert [len(key) for key in parse_keys(f"{first},{second}")] == [32, 32]
