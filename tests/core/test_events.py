from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor
from kassa.core.database import Database
from kassa.core.events import Event, InProcessEventBus, publish_after_commit
from kassa.stores import service as store_service
from tests.factories import make_organization, make_store


async def test_events_are_published_only_after_commit(
    database: Database, event_bus: InProcessEventBus
) -> None:
    received: list[Event] = []
    event_bus.subscribe("store:1", received.append)
    async with database.unit_of_work() as session:
        publish_after_commit(session, Event("store:1", "thing.happened", {"n": 1}))
        assert received == []
    assert received == [Event("store:1", "thing.happened", {"n": 1})]


async def test_a_rolled_back_change_publishes_nothing(
    database: Database, event_bus: InProcessEventBus
) -> None:
    received: list[Event] = []
    event_bus.subscribe("store:1", received.append)

    async def failing_change() -> None:
        async with database.unit_of_work() as session:
            publish_after_commit(session, Event("store:1", "thing.happened"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await failing_change()
    assert received == []


async def test_subscribers_get_only_their_topic_and_can_leave(event_bus: InProcessEventBus) -> None:
    store_one: list[Event] = []
    store_two: list[Event] = []
    subscription = event_bus.subscribe("store:1", store_one.append)
    event_bus.subscribe("store:2", store_two.append)
    await event_bus.publish(Event("store:2", "x"))
    assert (store_one, len(store_two)) == ([], 1)
    subscription.cancel()
    await event_bus.publish(Event("store:1", "x"))
    assert store_one == []


async def test_a_failing_subscriber_does_not_stop_the_others(event_bus: InProcessEventBus) -> None:
    received: list[Event] = []

    def broken(_event: Event) -> None:
        raise ValueError("tab closed")

    event_bus.subscribe("t", broken)
    event_bus.subscribe("t", received.append)
    await event_bus.publish(Event("t", "x"))
    assert len(received) == 1


async def test_renaming_a_store_tells_its_screens(
    database: Database, session: AsyncSession, event_bus: InProcessEventBus
) -> None:
    organization = await make_organization(session)
    store = await make_store(session, organization)
    await session.commit()
    received: list[Event] = []
    event_bus.subscribe(store_service.store_topic(store.id), received.append)
    async with database.unit_of_work() as work:
        await store_service.update_store(work, Actor.system(organization.id), store.id, name="Night café")
    assert [(event.name, event.payload["name"]) for event in received] == [("store.updated", "Night café")]
