"""Delta sync (GET /api/v1/sync/), as a client holding a replica sees it: the first sync brings everything the
person may see, page by page; later calls bring what changed, and tombstones for what went (trashed, deleted,
a team left); the replica always ends equal to what the person may see. Bad cursors are a 400 and never
another person's data; a cursor older than what is kept is a 410."""

from __future__ import annotations

import pytest
from django.core import signing

from accounts import services as account_services
from notifications.models import Kind, Notification
from notifications.services import notification_mark_read, notify
from sync.cursors import SALT
from sync.models import Change
from sync.services import changes_trim
from tasks import services
from tasks.models import Comment, Task
from tasks.tests.api_helpers import api_client, error_fields
from tasks.tests.factories import ProjectFactory

# Each write commits, as it does in production: the reader tells changes apart by the transactions that wrote
# them (sync/selectors.py), and a test's single transaction would be one transaction for every write.
pytestmark = pytest.mark.django_db(transaction=True)
SYNC = "/api/v1/sync/"


class Replica:
    """What an offline client keeps: objects by id, each page applied whole (a task's tombstone drops its
    comments too)."""

    def __init__(self, client):
        self.client = client
        self.cursor = None
        self.tasks, self.comments, self.notifications = {}, {}, {}
        self.pages = []

    def pull(self, *, page_size: int = 200) -> list[dict]:
        """Call until `more` is false; the pages read."""
        pages = []
        while True:
            query = {"page_size": page_size} | ({"cursor": self.cursor} if self.cursor else {})
            response = self.client.get(SYNC, query)
            assert response.status_code == 200, response.content
            page = response.json()
            self.apply(page)
            pages.append(page)
            if not page["more"]:
                break
        self.pages += pages
        return pages

    def apply(self, page: dict) -> None:
        for kind in ("tasks", "comments", "notifications"):
            ids = [o["id"] for o in page[kind]]
            assert len(ids) == len(set(ids)), f"{kind} repeated within a page"
            assert not set(ids) & set(page["deleted"][kind]), f"{kind} both sent and deleted"
        for task in page["tasks"]:
            self.tasks[task["id"]] = task
        for comment in page["comments"]:
            self.comments[comment["id"]] = comment
        for notification in page["notifications"]:
            self.notifications[notification["id"]] = notification
        for pk in page["deleted"]["tasks"]:
            self.tasks.pop(pk, None)
            self.comments = {k: c for k, c in self.comments.items() if c["task"] != pk}
        for pk in page["deleted"]["comments"]:
            self.comments.pop(pk, None)
        for pk in page["deleted"]["notifications"]:
            self.notifications.pop(pk, None)
        self.cursor = page["cursor"]

    def matches_the_truth(self, user) -> None:
        """The replica holds exactly what the person may see now, as it is now."""
        visible = Task.objects.filter(project__team__memberships__user=user, deleted_at__isnull=True)
        assert {pk: t["title"] for pk, t in self.tasks.items()} == dict(visible.values_list("pk", "title"))
        stages = {t["id"]: [s["status"] for s in t["stages"]] for t in self.tasks.values()}
        for task in visible.prefetch_related("stages"):
            assert stages[task.pk] == [s.status for s in task.stages.order_by("order")]
        comments = Comment.objects.filter(task__in=visible)
        assert {pk: c["body"] for pk, c in self.comments.items()} == dict(comments.values_list("pk", "body"))
        mine = Notification.objects.filter(user=user)
        assert {pk: n["read"] for pk, n in self.notifications.items()} == {n.pk: n.read_at is not None for n in mine}


@pytest.fixture
def acme(team_roles):
    team, other, people = team_roles
    project = ProjectFactory(team=team, name="Launch")
    return team, other, project, people


def make_task(actor, project, title, stages=2):
    task, _ = services.task_create(
        actor=actor,
        project=project,
        title=title,
        stages=[{"name": f"S{i}", "estimated_hours": "1"} for i in range(stages)],
    )
    return task


def test_the_first_sync_brings_everything_visible_page_by_page_then_only_changes(acme):
    _team, other, project, people = acme
    owner, member = people["owner"], people["member"]
    tasks = [make_task(owner, project, f"Task {i}") for i in range(7)]
    services.comment_create(actor=owner, task=tasks[0], body="First comment")
    services.task_update(actor=owner, task=tasks[1], data={"assignee": member})  # notifies the member
    make_task(people["outsider"], ProjectFactory(team=other), "Not ours")
    replica = Replica(api_client(member))

    pages = replica.pull(page_size=3)

    assert len(pages) >= 3  # 7 tasks, a comment and a notification, 3 a page
    replica.matches_the_truth(member)
    assert len(replica.notifications) == 1
    assert {len(t["stages"]) for t in replica.tasks.values()} == {2}

    (quiet,) = replica.pull()
    assert quiet["tasks"] == []  # nothing changed: nothing sent
    services.task_update(actor=owner, task=tasks[2], data={"title": "Renamed"})
    (page,) = replica.pull()
    assert [t["title"] for t in page["tasks"]] == ["Renamed"]
    assert page["comments"] == page["notifications"] == []
    replica.matches_the_truth(member)


def test_trash_restore_comments_stages_and_notifications_arrive_as_they_are(acme):
    _team, _other, project, people = acme
    owner, member = people["owner"], people["member"]
    task = make_task(owner, project, "Ship it")
    comment = services.comment_create(actor=owner, task=task, body="Looks good")
    replica = Replica(api_client(member))
    replica.pull()

    services.stage_start(actor=owner, stage=task.stages.first())
    services.task_delete(actor=owner, task=task)
    (page,) = replica.pull()
    assert page["deleted"]["tasks"] == [task.pk]
    assert page["tasks"] == []
    assert replica.comments == {}

    services.task_restore(actor=owner, task=task)
    (page,) = replica.pull()
    assert [t["id"] for t in page["tasks"]] == [task.pk]
    assert [c["id"] for c in page["comments"]] == [comment.pk]  # shown again with its task
    replica.matches_the_truth(member)

    services.comment_delete(actor=owner, comment=comment)
    notify(kind=Kind.TASK_COMMENTED, user=member, actor=owner, event="e:1", message="Hello", task=task)
    (page,) = replica.pull()
    assert page["deleted"]["comments"] == [comment.pk]
    assert [n["message"] for n in page["notifications"]] == ["Hello"]
    notification_mark_read(actor=member, notification=Notification.objects.get(user=member))
    (page,) = replica.pull()
    assert [n["read"] for n in page["notifications"]] == [True]
    replica.matches_the_truth(member)


def test_leaving_a_team_tombstones_its_tasks_and_notifications_and_rejoining_brings_them_back(acme):
    team, _other, project, people = acme
    owner, member = people["owner"], people["member"]
    tasks = [make_task(owner, project, f"T{i}") for i in range(5)]
    services.comment_create(actor=owner, task=tasks[0], body="Hi")
    services.task_update(actor=owner, task=tasks[1], data={"assignee": member})
    replica = Replica(api_client(member))
    replica.pull()
    assert len(replica.tasks) == 5
    assert len(replica.notifications) == 1

    account_services.membership_remove(actor=owner, team=team, user=member)
    replica.pull(page_size=2)
    assert replica.tasks == replica.comments == replica.notifications == {}
    replica.matches_the_truth(member)

    account_services.membership_add(actor=owner, team=team, user=member)
    replica.pull(page_size=2)
    assert len(replica.tasks) == 5
    assert len(replica.comments) == 1
    replica.matches_the_truth(member)


def test_a_change_written_while_the_first_sync_is_under_way_arrives(acme):
    _team, _other, project, people = acme
    owner, member = people["owner"], people["member"]
    tasks = [make_task(owner, project, f"T{i}") for i in range(6)]
    replica = Replica(api_client(member))
    first = replica.client.get(SYNC, {"page_size": 2}).json()
    replica.apply(first)

    services.task_update(actor=owner, task=tasks[0], data={"title": "Changed behind the reader"})
    make_task(owner, project, "Created meanwhile")
    services.task_delete(actor=owner, task=tasks[5])
    replica.pull(page_size=2)

    replica.matches_the_truth(member)


@pytest.mark.parametrize(
    "make_cursor",
    [
        pytest.param(lambda user, good: "not-a-cursor", id="malformed"),
        pytest.param(lambda user, good: good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"), id="forged"),
        pytest.param(
            lambda user, good: signing.Signer(salt="another.salt").sign_object({"u": user.pk, "s": "1:1:"}),
            id="signed for something else",
        ),
        pytest.param(
            lambda user, good: signing.Signer(salt=SALT).sign_object({"u": user.pk + 10_000, "s": "1:1:"}),
            id="another person's",
        ),
        pytest.param(
            lambda user, good: signing.Signer(salt=SALT).sign_object({"u": user.pk, "s": "1:1:; DROP"}), id="bad values"
        ),
    ],
)
def test_a_cursor_not_given_to_this_person_is_a_400_naming_it(acme, make_cursor):
    _team, _other, project, people = acme
    make_task(people["owner"], project, "Secret")
    member, outsider = people["member"], people["outsider"]
    good = api_client(member).get(SYNC).json()["cursor"]

    response = api_client(outsider).get(SYNC, {"cursor": make_cursor(outsider, good)})

    assert response.status_code == 400
    assert error_fields(response) == ["cursor"]


def test_another_persons_real_cursor_is_refused(acme):
    _team, _other, project, people = acme
    make_task(people["owner"], project, "Secret")
    cursor = api_client(people["member"]).get(SYNC, {"page_size": 1}).json()["cursor"]

    response = api_client(people["outsider"]).get(SYNC, {"cursor": cursor})

    assert response.status_code == 400
    assert "Secret" not in response.content.decode()


def test_a_cursor_older_than_what_is_kept_is_a_410_saying_to_start_over(acme):
    _team, _other, project, people = acme
    owner = people["owner"]
    make_task(owner, project, "Old")
    client = api_client(people["member"])
    cursor = client.get(SYNC).json()["cursor"]
    make_task(owner, project, "Newer")

    run = changes_trim(keep_days=-1)  # everything is older than "minus a day"

    assert run.deleted >= 1
    assert not Change.objects.filter(xid__lt=run.below).exists()
    response = client.get(SYNC, {"cursor": cursor})
    assert response.status_code == 410
    assert response.json()["code"] == "cursor_expired"
    assert "start over" in response.json()["detail"]
    assert client.get(SYNC).status_code == 200  # starting over works


@pytest.mark.parametrize("header", ['"abc"', "*", 'W/"x", "y"', "garbage,,,", "\t", "x" * 5000])
def test_an_if_none_match_of_any_shape_is_harmless(acme, header):
    _team, _other, project, people = acme
    make_task(people["owner"], project, "A")

    response = api_client(people["member"]).get(SYNC, HTTP_IF_NONE_MATCH=header)

    assert response.status_code == 200
    assert len(response.json()["tasks"]) == 1
