"""Tokens in the browser's storage are sealed: the stored value is no usable token, only
Kassa's secret key opens it, and a value that does not open reads as no token."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kassa.core.auth import Role
from kassa.web.sealed import seal, unseal
from tests.shop import Shop


@settings(deadline=None)  # a busy CI machine pauses now and then
@given(st.text(min_size=1, max_size=200))
def test_a_sealed_secret_opens_with_the_same_key_only(secret: str) -> None:
    sealed = seal(secret, "the installation's key")
    assert unseal(sealed, "the installation's key") == secret
    assert unseal(sealed, "another installation's key") is None


@settings(deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_a_sealed_token_does_not_show_the_token(random_bytes: bytes) -> None:
    token = base64.urlsafe_b64encode(random_bytes).decode().rstrip("=")  # as new_token() makes them
    assert token not in seal(token, "key")


@pytest.mark.parametrize("stored", [None, "", 42, "a-raw-token-from-before", "gAAAAA-not-fernet"])
def test_what_does_not_unseal_is_no_token(stored: object) -> None:
    assert unseal(stored, "key") is None


async def test_the_stored_value_is_no_bearer_token_for_the_api(shop: Shop) -> None:
    # given a register session token, as the PIN pad keeps it in the browser's storage
    headers = await shop.login(Role.CASHIER)
    token = headers["Authorization"].removeprefix("Bearer ")
    stored = seal(token, "secret")
    # when someone copies the stored value out of a leaked storage file, the API refuses it
    refused = await shop.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {stored}"})
    assert refused.status_code == 401
    # and only with the secret key does it become the token again
    opened = unseal(stored, "secret")
    assert opened is not None
    accepted = await shop.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {opened}"})
    assert accepted.status_code == 200


def test_sealing_uses_the_configured_secret_key_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from kassa.core.settings import get_settings

    monkeypatch.setattr(get_settings(), "secret_key", "configured")
    assert unseal(seal("token")) == "token"
    assert unseal(seal("token"), "configured") == "token"
