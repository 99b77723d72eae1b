"""Every model is in Django admin, and its list, search and forms answer (with rows present)."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from accounts.tests.factories import MembershipFactory, UserFactory, sign_in_to_admin
from tasks import services
from tasks.tests.factories import ProjectFactory

PROJECT_APPS = {"accounts", "tasks", "notifications"}


@pytest.fixture
def staff_client(client, db):
    sign_in_to_admin(client, UserFactory(email="root@example.test", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def some_rows(db):
    member = MembershipFactory(role="admin").user
    project = ProjectFactory(team=member.memberships.get().team)
    task, _ = services.task_create(
        actor=member, project=project, title="Row", stages=[{"name": "S", "estimated_hours": 2}], assignee=member
    )
    services.comment_create(actor=member, task=task, body="hello")
    return task


def test_every_project_model_is_registered():
    models = [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS]
    assert [m.__name__ for m in models if not admin.site.is_registered(m)] == []


@pytest.mark.parametrize(
    "model",
    [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS],
    ids=lambda m: m._meta.label,
)
def test_changelist_search_and_change_pages_answer(staff_client, some_rows, model):
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert staff_client.get(changelist).status_code == 200
    assert staff_client.get(changelist, {"q": "1"}).status_code == 200
    obj = model.objects.first()
    if obj is not None:
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        assert staff_client.get(change).status_code == 200
