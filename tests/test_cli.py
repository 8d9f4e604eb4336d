"""The `kassa` command as an operator uses it, against a real SQLite file."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
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
    # the demo's logins are not printed for a database that has people of its own
    assert "PIN" not in result.stdout
    assert "kassa-owner-demo" not in result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_until_serving(tmp_path: Path, *, working_directory: Path | None = None) -> str:
    """`kassa run` with only KASSA_VAR_DIR saying where its files go (the database too),
    until it serves; what it printed."""
    port = _free_port()
    left_out = {"NICEGUI_STORAGE_PATH", "KASSA_DATABASE_URL"}
    environment = {key: value for key, value in os.environ.items() if key not in left_out} | {
        "KASSA_VAR_DIR": str(tmp_path / "var"),
        "KASSA_PORT": str(port),
        "KASSA_ENABLE_UI": "true",
        "KASSA_SECRET_KEY": "",
    }
    log_path = tmp_path / f"run-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "kassa.cli", "run"],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=working_directory,
        )
        try:
            deadline = time.monotonic() + 90
            while "Uvicorn running" not in log_path.read_text():
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
            assert httpx.get(f"http://127.0.0.1:{port}/setup", timeout=30).status_code == 200
        finally:
            process.terminate()
            process.wait(timeout=30)
    return log_path.read_text()


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_kassa_run_prints_the_demo_logins_only_when_it_seeded_the_demo(tmp_path: Path) -> None:
    first = _run_until_serving(tmp_path)
    assert "PIN 3333" in first
    assert "owner@kassa.demo / kassa-owner-demo" in first
    second = _run_until_serving(tmp_path)
    assert "Kassa is at http://" in second
    assert "PIN" not in second
    assert "kassa-owner-demo" not in second


def test_kassa_var_dir_alone_moves_the_database_whatever_the_working_directory(tmp_path: Path) -> None:
    # Given no KASSA_DATABASE_URL, and Kassa started from a directory with no var/ in it
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    output = _run_until_serving(tmp_path, working_directory=elsewhere)
    # Then the database is in KASSA_VAR_DIR, and nothing was written where it ran
    assert "unable to open database file" not in output
    assert (tmp_path / "var" / "kassa.db").is_file()
    assert list(elsewhere.iterdir()) == []
    with sqlite3.connect(tmp_path / "var" / "kassa.db") as connection:
        assert connection.execute("SELECT count(*) FROM stores").fetchone() == (1,)


def test_the_default_database_follows_the_var_directory(tmp_path: Path) -> None:
    from kassa.core.settings import Settings

    assert (
        Settings(var_dir=tmp_path / "v").database_url == f"sqlite+aiosqlite:///{tmp_path / 'v' / 'kassa.db'}"
    )
    relative = Settings(var_dir=Path("data"), database_url="")
    assert relative.database_url == f"sqlite+aiosqlite:///{Path('data').resolve() / 'kassa.db'}"
    configured = "postgresql+asyncpg://kassa@db:5432/kassa"
    assert Settings(var_dir=tmp_path, database_url=configured).database_url == configured


def test_files_under_the_var_directory_are_private(tmp_path: Path) -> None:
    # given a var directory another user could read, as an older Kassa left it
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    _run_until_serving(tmp_path)
    assert _mode(var) == 0o700
    for name in ("kassa.db", "secret.key"):
        assert _mode(var / name) == 0o600, name
    # and whatever else is there (SQLite's WAL, printer files, NiceGUI's storage)
    modes = {str(path.relative_to(var)): _mode(path) for path in var.rglob("*")}
    assert modes == {name: 0o700 if (var / name).is_dir() else 0o600 for name in modes}


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


def test_org_create_makes_a_second_organization_its_owner_can_use(demo_database: Path) -> None:
    created = _kassa(
        demo_database,
        "org",
        "create",
        "--name",
        "Golden Dragon",
        "--store-name",
        "Golden Dragon Xuhui",
        "--owner-name",
        "Li Wei",
        "--owner-email",
        "Li.Wei@Example.com",
        "--owner-password",
        "dragon-secret-1",
        "--owner-pin",
        "8642",
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("organization 2 created: store 2, register 3, owner 5")
    listed = _kassa(demo_database, "org", "list")
    assert [line.split()[:2] for line in listed.stdout.splitlines()] == [["1", "Kassa"], ["2", "Golden"]]
    with sqlite3.connect(demo_database / "kassa.db") as connection:
        owner = connection.execute(
            "SELECT organization_id, role, store_id, email FROM staff_members WHERE id = 5"
        ).fetchone()
    assert owner == (2, "owner", None, "li.wei@example.com")

    # with two organizations, a staff member needs to be told which one
    ambiguous = _kassa(demo_database, "staff", "add", "--name", "Zhao", "--role", "cashier", "--pin", "1357")
    assert ambiguous.returncode == 2
    assert "--organization-id" in ambiguous.stderr
    foreign_store = _kassa(
        demo_database,
        "staff",
        "add",
        "--name",
        "Zhao",
        "--role",
        "cashier",
        "--pin",
        "1357",
        "--store-id",
        "1",
        "--organization-id",
        "2",
    )
    assert foreign_store.returncode == 2, foreign_store.stdout
    assert "no store 1" in foreign_store.stderr


def test_org_create_refuses_a_bad_owner_and_leaves_nothing(demo_database: Path) -> None:
    refused = _kassa(
        demo_database,
        "org",
        "create",
        "--name",
        "Half Made",
        "--store-name",
        "Nowhere",
        "--owner-name",
        "X",
        "--owner-email",
        "x@example.com",
        "--owner-password",
        "short",
        "--owner-pin",
        "1234",
    )
    assert refused.returncode == 2
    assert "password: a password has at least 10 characters" in refused.stderr
    with sqlite3.connect(demo_database / "kassa.db") as connection:
        assert connection.execute("SELECT count(*) FROM organizations").fetchone() == (1,)
        assert connection.execute("SELECT count(*) FROM stores").fetchone() == (1,)
