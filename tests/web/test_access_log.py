"""The access log of a real uvicorn server names each request's path without its query
string, so the webhook token in ``?token=`` never reaches a log file."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from kassa.core.database import Database
from kassa.core.settings import Settings
from kassa.web.access_log import ACCESS_LOGGER, WithoutQueryString
from kassa.web.app import create_app
from tests.notifications.providers.local_server import unused_port


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def access_records() -> Iterator[list[logging.LogRecord]]:
    handler = _Records()
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


async def test_a_webhook_request_is_logged_without_its_token(
    database: Database, database_url: str, access_records: list[logging.LogRecord]
) -> None:
    settings = Settings(database_url=database_url, enable_ui=False, run_worker_in_process=False)
    port = unused_port()
    # log_config=None: keep this process's logging as it is; the app puts its filter in place.
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, database), host="127.0.0.1", port=port, log_config=None, log_level="info"
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(400):  # 20 s at most
            if server.started:
                break
            await asyncio.sleep(0.05)
        assert server.started
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
            answer = await client.post(
                "/api/v1/notifications/webhooks/log/inbound?token=1.secret-token-value&other=x",
                json={"from": "+8613800138000", "body": "1 4821"},
            )
            healthy = await client.get("/healthz?probe=secret-probe")
    finally:
        server.should_exit = True
        await serving

    assert (answer.status_code, healthy.status_code) == (401, 200)
    assert [record.args[1:] for record in access_records if isinstance(record.args, tuple)] == [
        ("POST", "/api/v1/notifications/webhooks/log/inbound", "1.1", 401),
        ("GET", "/healthz", "1.1", 200),
    ]
    lines = [record.getMessage() for record in access_records]
    assert lines[0].endswith(' - "POST /api/v1/notifications/webhooks/log/inbound HTTP/1.1" 401')
    assert not [record for record in access_records if "secret" in repr(record.__dict__)]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (("1.2.3.4:5", "GET", "/a?token=x", "1.1", 200), ("1.2.3.4:5", "GET", "/a", "1.1", 200)),
        (("1.2.3.4:5", "GET", "/a", "1.1", 200), ("1.2.3.4:5", "GET", "/a", "1.1", 200)),
        (("1.2.3.4:5", "GET", "/?", "1.1", 200), ("1.2.3.4:5", "GET", "/", "1.1", 200)),
        (("only", "two"), ("only", "two")),
    ],
)
def test_the_filter_cuts_only_the_query(arguments: tuple[object, ...], expected: tuple[object, ...]) -> None:
    record = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 1, "%s", arguments, None)
    assert WithoutQueryString().filter(record) is True
    assert record.args == expected
