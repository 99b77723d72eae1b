"""Live pages (aether/live/): what is published, to whom, and when a stream is refused, dropped or closed."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, transaction

from accounts.services.teams import membership_remove
from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from aether.live import events
from aether.live.hub import CLOSE, QUEUE_SIZE, Hub, Stream
from aether.testing import PrivateRedis
from tasks.services.comment import comment_create
from tasks.tests.factories import ProjectFactory, TaskFactory


@pytest.fixture
def channel():
    """A subscription to the deployment's live channel, as the web processes have."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(events.channel())
    pubsub.get_message(timeout=1)  # the subscription's confirmation
    yield pubsub
    pubsub.close()
    client.close()


def received(pubsub, timeout: float = 0.5) -> list[dict]:
    found = []
    while (message := pubsub.get_message(timeout=timeout)) is not None:
        found.append(json.loads(message["data"]))
    return found


async def in_a_thread(service, **kwargs):
    """Call a service from the event loop, as a sync view would, and close that thread's connection after."""

    def call():
        try:
            return service(**kwargs)
        finally:
            connection.close()

    return await sync_to_async(call, thread_sensitive=False)()


def member_of(team, role="member", **kwargs):
    return MembershipFactory(team=team, role=role, user=UserFactory(**kwargs)).user


@pytest.mark.django_db
def test_a_change_is_published_after_its_commit_and_a_rolled_back_one_never(channel):
    team = TeamFactory()
    author = member_of(team)
    task = TaskFactory(project=ProjectFactory(team=team), created_by=author)
    received(channel)  # what the factories' writes published

    def write_then_fail():
        with transaction.atomic():
            comment_create(actor=author, task=task, body="never committed")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert received(channel) == []

    comment = comment_create(actor=author, task=task, body="committed")
    messages = received(channel)
    assert [m["events"] for m in messages] == [
        [{"kind": "comment", "comment": comment.pk, "task": task.pk, "teams": [team.pk]}]
    ]
    assert "committed" not in json.dumps(messages)  # no content, only what changed
    assert messages[0]["id"] > 0


@pytest.mark.django_db
def test_a_stream_is_refused_as_its_page_is(client):
    team, other = TeamFactory(), TeamFactory()
    viewer = member_of(team, role="viewer")
    mine = ProjectFactory(team=team)
    theirs = ProjectFactory(team=other)
    their_task = TaskFactory(project=theirs)

    assert client.get(f"/live/stream/?project={mine.pk}").status_code == 403  # not signed in
    client.force_login(viewer)
    assert client.get(f"/projects/{theirs.pk}/").status_code == 404
    assert client.get(f"/live/stream/?project={theirs.pk}").status_code == 404
    assert client.get(f"/tasks/{their_task.pk}/").status_code == 404
    assert client.get(f"/live/stream/?task={their_task.pk}").status_code == 404
    assert client.get(f"/live/stream/?team={other.pk}").status_code == 404
    assert client.get("/live/stream/?project=x").status_code == 404
    assert client.get("/live/stream/").status_code == 404  # which page?
    # allowed, but served by WSGI here (Django's test client): no stream, and EventSource stops asking
    assert client.get(f"/live/stream/?project={mine.pk}").status_code == 204


@pytest.mark.django_db
def test_a_live_page_is_refetched_conditionally(client):
    team = TeamFactory()
    member = member_of(team)
    project = ProjectFactory(team=team)
    task = TaskFactory(project=project, created_by=member)
    client.force_login(member)
    page = client.get(f"/projects/{project.pk}/")
    live = page.wsgi_request.live
    assert live["url"].startswith(f"/live/stream/?project={project.pk}&since=")
    refetch = {"HTTP_X_AETHER_LIVE": "1", "HTTP_IF_NONE_MATCH": live["etag"]}
    assert client.get(f"/projects/{project.pk}/", **refetch).status_code == 304
    # an ordinary visit always renders (its flash messages are read)
    assert client.get(f"/projects/{project.pk}/", HTTP_IF_NONE_MATCH=live["etag"]).status_code == 200

    comment_create(actor=member, task=task, body="moves the team's tasks")  # so the page's tag moves
    changed = client.get(f"/projects/{project.pk}/", **refetch)
    assert changed.status_code == 200
    assert changed["ETag"] != live["etag"]


def test_a_client_that_stops_reading_is_dropped_and_the_others_still_hear():
    async def scenario():
        hub = Hub()
        stuck = Stream(user_id=1, teams={7})
        reader = Stream(user_id=2, teams={7})
        stuck.task = asyncio.get_running_loop().create_task(asyncio.sleep(60))  # its writer, blocked
        hub.add(stuck)
        hub.add(reader)
        message = {"id": 0, "events": [{"kind": "task", "task": 3, "teams": [7]}]}
        for n in range(QUEUE_SIZE + 1):
            hub.dispatch(json.dumps({**message, "id": n + 1}))
            assert await reader.queue.get() == (n + 1, [{"kind": "task", "task": 3}])  # no team ids told
        await asyncio.sleep(0)
        return hub, stuck, reader

    hub, stuck, reader = asyncio.run(scenario())
    assert stuck.closed == "dropped"
    assert stuck.task.cancelled()
    assert list(stuck.queue._queue) == [CLOSE]  # what it held is let go
    assert hub.by_team[7] == {reader}
    assert hub.dropped == 1


@pytest.mark.django_db(transaction=True)
def test_a_removed_member_stream_is_closed_at_once_and_hears_nothing_more():
    team = TeamFactory()
    owner = member_of(team, role="owner")
    leaver = member_of(team)
    project = ProjectFactory(team=team)
    task = TaskFactory(project=project, created_by=owner, assignee=leaver)

    async def scenario():
        hub = Hub()
        await hub.start()
        await asyncio.wait_for(hub.connected.wait(), 5)
        board = Stream(user_id=leaver.pk, teams={team.pk}, required=frozenset({team.pk}))
        teammate = Stream(user_id=owner.pk, teams={team.pk}, required=frozenset({team.pk}))
        hub.add(board)
        hub.add(teammate)
        await in_a_thread(membership_remove, actor=owner, team=team, user=leaver)
        told = []
        while (item := await asyncio.wait_for(board.queue.get(), 5)) is not CLOSE:
            told.append(item)
        await in_a_thread(comment_create, actor=owner, task=task, body="after")
        heard = []
        while not any(k.get("kind") == "comment" for _, kinds in heard for k in kinds):
            heard.append(await asyncio.wait_for(teammate.queue.get(), 5))
        hub.listener.cancel()
        return board, told, hub

    board, told, hub = asyncio.run(scenario())
    assert board.closed == "revoked"
    assert board not in hub.by_team.get(team.pk, set())
    # the last thing the leaver heard was their own leaving (their task, unassigned by it, just before); the
    # comment written after it reached their teammate only
    assert told[-1][1] == [{"kind": "members"}], told
    assert all(k.get("kind") != "comment" for _, kinds in told for k in kinds)


def test_the_subscriber_comes_back_after_a_redis_outage_and_every_page_resynchronises(tmp_path, settings):
    private = PrivateRedis(tmp_path).start()
    settings.REDIS_URL = private.url
    message = json.dumps({"id": 9, "events": [{"kind": "task", "task": 3, "teams": [7]}]})

    async def scenario():
        hub = Hub()
        page = Stream(user_id=1, teams={7})
        hub.add(page)
        await hub.start()
        await asyncio.wait_for(hub.connected.wait(), 5)
        publisher = redis.Redis.from_url(private.url)
        publisher.publish(events.channel(), message)
        before = await asyncio.wait_for(page.queue.get(), 5)
        private.crash()
        await asyncio.sleep(0.5)
        private.start()  # the same port: the subscriber finds it again by itself
        after_outage = await asyncio.wait_for(page.queue.get(), 15)
        await asyncio.wait_for(hub.connected.wait(), 5)
        publisher = redis.Redis.from_url(private.url)
        publisher.publish(events.channel(), message)
        again = await asyncio.wait_for(page.queue.get(), 5)
        hub.listener.cancel()
        return before, after_outage, again

    try:
        before, after_outage, again = asyncio.run(scenario())
    finally:
        private.stop()
    assert before == (9, [{"kind": "task", "task": 3}])
    assert after_outage == (None, "resync")  # what went by meanwhile: the page refetches (conditionally)
    assert again == before
