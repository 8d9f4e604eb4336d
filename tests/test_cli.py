"""The `kassa` command as an operator uses it, against a real SQLite file."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


def _kassa(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "KASSA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'kassa.db'}",
        "KASSA_VAR_DIR": str(tmp_path / "var"),
    }
    return subprocess.run(
        [sys.executable, "-m", "kassa.cli", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def demo_database(tmp_path: Path) -> Path:
    result = _kassa(tmp_path, "demo")
    assert result.returncode == 0, result.stderr
    assert "demo store created" in result.stdout
    assert "PIN 3333" in result.stdout
    return tmp_path


def test_audit_verify_passes_on_an_untouched_database(demo_database: Path) -> None:
    result = _kassa(demo_database, "audit", "verify")
    assert result.returncode == 0
    assert result.stdout.startswith("audit trail intact:")


def test_audit_verify_finds_an_edited_record(demo_database: Path) -> None:
    with sqlite3.connect(demo_database / "kassa.db") as connection:
        connection.execute("UPDATE audit_records SET actor_name = 'somebody else' WHERE sequence = 3")
    result = _kassa(demo_database, "audit", "verify")
    assert result.returncode == 1
    assert "#3: record content was changed" in result.stderr
    assert "audit trail BROKEN" in result.stderr


def test_audit_verify_finds_a_deleted_record(demo_database: Path) -> None:
    with sqlite3.connect(demo_database / "kassa.db") as connection:
        connection.execute("DELETE FROM audit_records WHERE sequence = 2 AND chain_key = 'store:1'")
    result = _kassa(demo_database, "audit", "verify")
    assert result.returncode == 1
    assert "records deleted" in result.stderr


def test_demo_is_not_seeded_twice(demo_database: Path) -> None:
    result = _kassa(demo_database, "demo")
    assert result.returncode == 0
    assert "demo not seeded" in result.stdout


def test_staff_add_creates_a_cashier_who_can_log_in(demo_database: Path) -> None:
    result = _kassa(
        demo_database,
        "staff",
        "add",
        "--name",
        "Li Lei",
        "--role",
        "cashier",
        "--store-id",
        "1",
        "--pin",
        "5678",
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(demo_database / "kassa.db") as connection:
        role = connection.execute("SELECT role FROM staff_members WHERE display_name = 'Li Lei'").fetchone()
    assert role == ("cashier",)


def test_staff_add_refuses_a_bad_pin_clearly(demo_database: Path) -> None:
    result = _kassa(
        demo_database, "staff", "add", "--name", "X", "--role", "cashier", "--store-id", "1", "--pin", "12"
    )
    assert result.returncode == 2
    assert "a PIN is 4 to 6 digits" in result.stderr


def test_webhook_token_is_per_organization_and_stable_for_one_secret(demo_database: Path) -> None:
    first = _kassa(demo_database, "webhook-token", "--organization-id", "1")
    second = _kassa(demo_database, "webhook-token", "--organization-id", "1")
    assert first.returncode == 0, first.stderr
    token = first.stdout.strip()
    assert re.fullmatch(r"1\.[0-9a-f]{40}", token)
    assert second.stdout.strip() == token
    assert f"log inbound: http://127.0.0.1:8000/api/v1/notifications/webhooks/log/inbound?token={token}" in (
        first.stderr
    )
    listed = _kassa(demo_database, "webhook-token")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].endswith(f"): {token}")
    assert (
        f"  log delivery: http://127.0.0.1:8000/api/v1/notifications/webhooks/log/delivery?token={token}"
        in (listed.stdout)
    )
    unknown = _kassa(demo_database, "webhook-token", "--organization-id", "99")
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "error: no organization 99")
