"""``kassa phone``: the phone's side of the API as a command. The functions under it are
driven in-process (``httpx.ASGITransport``); the command itself against a real
``kassa run`` in a subprocess."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from kassa.cli import app
from kassa.telephony import client as phone
from tests import live
from tests.shop import Shop
from tests.telephony.conftest import MEMBER_PHONE, make_member, pairing_code


async def test_the_phone_pairs_and_reports_a_call(shop: Shop) -> None:
    member = await make_member(shop)
    code = await pairing_code(shop)

    paired = await phone.pair(shop.client, code, "Front phone")
    answer = await phone.report_call(
        shop.client, paired["token"], "+86 138 0013 8000", external_call_id="c-1"
    )
    again = await phone.report_call(shop.client, paired["token"], "+86 138 0013 8000", external_call_id="c-1")

    assert phone.describe_pairing(paired).startswith(f"paired with {paired['register_name']} (register ")
    assert answer["member"]["id"] == member["id"]
    assert phone.describe_call(answer) == (
        f"call {answer['call_id']} on {answer['register_name']} (register {answer['register_id']}): "
        f"Li Na (member {member['id']}, card {member['card_number']}) +8613800138000"
    )
    assert phone.describe_call(again).endswith("(a repeated notification: the same call)")
    unknown = await phone.report_call(shop.client, paired["token"], "withheld")
    assert phone.describe_call(unknown).endswith("unknown caller, no valid number: 'withheld'")


async def test_refusals_carry_kassas_problem(shop: Shop) -> None:
    with pytest.raises(phone.PhoneApiError) as refused:
        await phone.report_call(shop.client, "not-a-token", MEMBER_PHONE)
    assert refused.value.status == 401
    with pytest.raises(phone.PhoneApiError) as wrong_code:
        await phone.pair(shop.client, "12x", "Front phone")
    assert wrong_code.value.status == 422
    assert wrong_code.value.problem["errors"][0]["field"] == "code"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_server_that_is_not_there_is_said_plainly() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = CliRunner().invoke(app, ["phone", "call", MEMBER_PHONE, "--device", "token", "--url", url])
    assert result.exit_code == 1
    assert f"cannot reach Kassa at {url}" in result.output


@pytest.fixture(scope="module")
def kassa_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """`kassa run` with the demo café on a SQLite file of its own."""
    tmp_path: Path = tmp_path_factory.mktemp("phone-cli")
    port = _free_port()
    environment = {
        **os.environ,
        "KASSA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'kassa.db'}",
        "KASSA_VAR_DIR": str(tmp_path / "var"),
        "KASSA_PORT": str(port),
        "KASSA_ENABLE_UI": "false",
        "KASSA_RUN_WORKER_IN_PROCESS": "false",
        "KASSA_PASSWORD_HASH_PROFILE": "cheapest",
    }
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "kassa.cli", "run"], env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {(tmp_path / 'server.log').read_text()}")
            try:
                if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        yield base_url, environment
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _kassa(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kassa.cli", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_kassa_phone_pairs_and_calls_a_running_kassa(kassa_server: tuple[str, dict[str, str]]) -> None:
    base_url, environment = kassa_server
    # The demo's manager shows a pairing code on Counter 1 (through the API, as the screen does)
    device = live.device_headers(base_url)
    staff = httpx.get(f"{base_url}/api/v1/registers/1/staff", headers=device).json()
    manager = next(tile for tile in staff if tile["role"] == "manager")
    login = httpx.post(
        f"{base_url}/api/v1/auth/pin",
        json={"register_id": 1, "staff_id": manager["id"], "pin": "2222"},
        headers=device,
    )
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    member = httpx.post(
        f"{base_url}/api/v1/members",
        json={
            "phone": "13800138000",
            "name": "Li Na",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "2026-11",
        },
        headers=headers,
    ).json()
    code = httpx.post(f"{base_url}/api/v1/registers/1/phone-pairing-codes", headers=headers).json()["code"]

    paired = _kassa(environment, "phone", "pair", code, "--name", "Front phone")

    assert paired.returncode == 0, paired.stderr
    token = paired.stdout.strip()
    assert len(token) >= 40
    assert "paired with Counter 1 (register 1)" in paired.stderr
    # KASSA_HOST/KASSA_PORT are where it looks without --url
    called = _kassa(environment, "phone", "call", "+86 138 0013 8000", "--device", token)
    assert called.returncode == 0, called.stderr
    assert called.stdout.startswith("call ")
    assert f"on Counter 1 (register 1): Li Na (member {member['id']}" in called.stdout
    as_json = _kassa(
        environment, "phone", "call", "138-0013-8000", "--device", token, "--json", "--url", base_url
    )
    assert json.loads(as_json.stdout)["member"]["id"] == member["id"]

    reused = _kassa(environment, "phone", "pair", code, "--name", "Second phone")
    assert reused.returncode == 1
    assert "error: 409: this pairing code was used already" in reused.stderr
    refused = _kassa(environment, "phone", "call", "13800138000", "--device", "wrong-token")
    assert refused.returncode == 1
    assert "error: 401" in refused.stderr
