"""Django admin's doors (aether/admin_site.py): every ModelAdmin is team-scoped or superuser-only, and a staff user
of one team, holding every view and change permission there is, can neither read nor change anything of another
team, nor reach a secret that takes an account, by URL, list, search, filter, autocomplete or action."""

import json
from datetime import date

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts import services as account_services
from accounts.models import AccountEvent, Membership, Team, User
from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory, sign_in_to_admin
from aether.admin_site import SuperuserOnlyAdmin, TeamScopedAdmin
from notifications.models import OutboxEmail
from tasks import services
from tasks.models import Stage, Task
from tasks.tests.factories import LabelFactory, ProjectFactory

PROJECT_APPS = {"accounts", "tasks", "notifications", "analytics"}
pytestmark = pytest.mark.django_db


def test_every_model_admin_is_team_scoped_or_superuser_only():
    undecided, unscoped = [], []
    for model, model_admin in admin.site._registry.items():
        name = f"{model._meta.label} ({type(model_admin).__name__})"
        if not isinstance(model_admin, (TeamScopedAdmin, SuperuserOnlyAdmin)):
            undecided.append(name)
        elif model._meta.app_label in PROJECT_APPS and getattr(model_admin, "closed_by_default", False):
            # Closed by the site, but ours must say which door it is.
            undecided.append(name)
        elif (
            isinstance(model_admin, TeamScopedAdmin)
            and model_admin.team_path is None
            and type(model_admin).scope_queryset is TeamScopedAdmin.scope_queryset
        ):
            unscoped.append(name)
    assert undecided == [], "Neither TeamScopedAdmin nor SuperuserOnlyAdmin: " + ", ".join(undecided)
    assert unscoped == [], "TeamScopedAdmin without a team_path or scope_queryset: " + ", ".join(unscoped)


def test_a_third_party_admin_registered_without_a_door_is_superuser_only():
    from django_celery_beat.models import PeriodicTask

    assert isinstance(admin.site._registry[PeriodicTask], SuperuserOnlyAdmin)


@pytest.fixture
def world(db):
    """Team A with a row of every kind, its owner's password reset just requested (the outbox row a stranger
    would want), and a staff user who owns team B only, with every permission there is."""
    owner_a = UserFactory(email="owner@a.test", full_name="Owner A")
    team_a = TeamFactory(name="Alpha", slug="alpha")
    MembershipFactory(team=team_a, user=owner_a, role="owner")
    member_a = MembershipFactory(team=team_a, user=UserFactory(email="member@a.test"), role="member").user
    project = ProjectFactory(team=team_a, name="Alpha project")
    label = LabelFactory(team=team_a, name="alpha-label")
    services.template_save(
        actor=owner_a, team=team_a, name="Alpha template", stages=[{"name": "Alpha stage", "estimated_hours": 1}]
    )
    task, _ = services.task_create(
        actor=owner_a,
        project=project,
        title="Alpha task",
        assignee=member_a,
        labels=[label],
        due_date=date(2020, 1, 1),
        stages=[{"name": "Alpha step", "estimated_hours": 2}],
    )
    services.comment_create(actor=owner_a, task=task, body="Alpha comment @member")
    services.recurrence_set(actor=owner_a, task=task, rule="FREQ=DAILY")
    from tasks.services.deadline_notices import overdue_notify

    overdue_notify(skip_if_busy=False)
    account_services.invitation_create(actor=owner_a, team=team_a, email="new@a.test", role="admin")
    account_services.calendar_feed_reset(actor=owner_a)
    account_services.password_reset_request(email="owner@a.test", address="10.9.9.9")

    staff_b = UserFactory(email="staff@b.test", is_staff=True)
    team_b = TeamFactory(name="Beta", slug="beta")
    MembershipFactory(team=team_b, user=staff_b, role="owner")
    staff_b.user_permissions.set(Permission.objects.all())
    services.task_create(actor=staff_b, project=ProjectFactory(team=team_b, name="Beta project"), title="Beta task")
    # Staff of B who is also a plain member of A: a member administers nothing there.
    MembershipFactory(team=team_a, user=staff_b, role="member")
    return {"team_a": team_a, "owner_a": owner_a, "task": task, "staff_b": staff_b, "team_b": team_b}


def _team_a_rows(world):
    """(model, pk) of every row of every admin-registered model that belongs to team A or is not the staff
    user's to see (outbox, other people's notifications and preferences, devices, tokens...)."""
    team_a, staff = world["team_a"], world["staff_b"]
    rows = []
    for model, model_admin in admin.site._registry.items():
        queryset = model._default_manager.all()
        if isinstance(model_admin, TeamScopedAdmin):
            mine = model_admin.scope_queryset(_Request(staff), queryset)
            queryset = queryset.exclude(pk__in=mine.values("pk"))
        rows.extend((model, pk) for pk in queryset.values_list("pk", flat=True)[:20])
    assert {m for m, _ in rows} >= {Task, Stage, OutboxEmail, Team, Membership, AccountEvent, User}
    assert Team.objects.filter(pk=team_a.pk).exists()
    return rows


def _Request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _snapshot():
    """Every row of every project table, as JSON text: what an action must not change."""
    from django.apps import apps

    return {
        m._meta.label: sorted(json.dumps(list(r), default=str) for r in m._default_manager.values_list())
        for m in apps.get_models()
        if m._meta.app_label in PROJECT_APPS
    }


@pytest.fixture
def staff_client(client, world):
    return sign_in_to_admin(client, world["staff_b"])


def test_no_change_page_of_team_a_opens_by_url(staff_client, world):
    opened = []
    for model, pk in _team_a_rows(world):
        opts = model._meta
        for view in ("change", "history", "delete"):
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[pk])
            response = staff_client.get(url)
            if response.status_code == 200:
                opened.append(f"{view} {opts.label} {pk}")
            else:
                assert response.status_code in (302, 403, 404), (url, response.status_code)
    assert opened == []


@pytest.mark.slow  # every changelist, four searches each: about 13 s on a loaded machine
def test_no_list_or_search_shows_team_a(staff_client, world):
    shown = []
    for model in admin.site._registry:
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        for query in ({}, {"q": "Alpha"}, {"q": "a.test"}, {"q": str(world["task"].pk)}):
            response = staff_client.get(url, query)
            if response.status_code == 403:
                continue
            assert response.status_code == 200, (url, response.status_code)
            hidden = {pk for m, pk in _team_a_rows(world) if m is model}
            listed = {obj.pk for obj in response.context["cl"].result_list}
            if hidden & listed:
                shown.append(f"{opts.label} {sorted(hidden & listed)} {query}")
            body = response.content.decode()
            for text in ("Alpha", "owner@a.test", "member@a.test"):
                if text in body and text not in str(query):  # the search box repeats the query
                    shown.append(f"{opts.label} names {text!r} {query}")
    assert shown == []


def test_no_autocomplete_offers_team_a(staff_client, world):
    offered = []
    hidden = {(m._meta.label, pk) for m, pk in _team_a_rows(world)}
    for model, model_admin in admin.site._registry.items():
        for field_name in model_admin.autocomplete_fields:
            field = model._meta.get_field(field_name)
            response = staff_client.get(
                reverse("admin:autocomplete"),
                {"app_label": model._meta.app_label, "model_name": model._meta.model_name, "field_name": field_name},
            )
            if response.status_code == 403:
                continue
            assert response.status_code == 200, (model, field_name, response.status_code)
            target = field.remote_field.model._meta.label
            for result in response.json()["results"]:
                if (target, int(result["id"])) in hidden:
                    offered.append(f"{model._meta.label}.{field_name}: {result['text']}")
    assert offered == []


def test_no_action_touches_team_a(staff_client, world):
    before = _snapshot()
    for model, pk in _team_a_rows(world):
        model_admin = admin.site._registry[model]
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        for action in model_admin.get_actions(_Request(world["staff_b"])) or ["delete_selected"]:
            staff_client.post(url, {"action": action, "_selected_action": [pk], "post": "yes", "index": 0})
    assert _snapshot() == before


def test_no_change_form_post_writes_to_team_a(staff_client, world):
    before = _snapshot()
    task = world["task"]
    url = reverse("admin:tasks_task_change", args=[task.pk])
    staff_client.post(url, {"title": "Taken", "priority": 2, "_save": "Save"})
    staff_client.post(
        reverse("admin:accounts_membership_add"),
        {"team": world["team_a"].pk, "user": world["staff_b"].pk, "role": "owner", "_save": "Save"},
    )
    staff_client.post(
        reverse("admin:tasks_task_add"),
        {"project": task.project_id, "title": "Planted", "priority": 2, "_save": "Save"},
    )
    assert _snapshot() == before


def test_the_outbox_and_its_reset_email_are_not_for_other_staff(staff_client, world):
    row = OutboxEmail.objects.get(kind="password_reset", user=world["owner_a"])
    assert staff_client.get(reverse("admin:notifications_outboxemail_changelist")).status_code == 403
    assert staff_client.get(reverse("admin:notifications_outboxemail_change", args=[row.pk])).status_code == 403
    index = staff_client.get(reverse("admin:index")).content.decode()
    assert "Outbox" not in index
    assert "Alpha" not in index


def test_a_raw_id_field_does_not_name_another_teams_object(staff_client, world):
    """Posting team A's task id to the comment form comes back with an error, not with that task's title."""
    response = staff_client.post(
        reverse("admin:tasks_comment_add"), {"task": world["task"].pk, "body": "hello", "_save": "Save"}
    )
    assert response.status_code == 200
    assert "Alpha task" not in response.content.decode()
    assert "task" in response.context["adminform"].form.errors


def test_staff_sees_and_changes_their_own_team(staff_client, world):
    team_b = world["team_b"]
    mine = Task.objects.get(project__team=team_b)
    response = staff_client.get(reverse("admin:tasks_task_changelist"))
    assert [t.pk for t in response.context["cl"].result_list] == [mine.pk]
    assert staff_client.get(reverse("admin:accounts_team_change", args=[team_b.pk])).status_code == 200
    assert staff_client.get(reverse("admin:tasks_task_change", args=[mine.pk])).status_code == 200
