"""Every admin form writes through the services: posting a comment, a label, a template with its stages, an
invitation or a deactivation in Django admin leaves the same rows, Activity and notifications as the same change
made on the site (HTML) or through the API, and a refusal is shown by its field with nothing written."""

import pytest
from django.urls import reverse

from accounts.models import AccountEvent, Invitation, User
from accounts.tests.admin_forms import admin_form, form_errors
from accounts.tests.factories import UserFactory, sign_in_to_admin
from notifications.models import Notification, OutboxEmail
from tasks import services
from tasks.models import Activity, Comment, Label, Task, Template
from tasks.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(client, team_roles):
    team, _, people = team_roles
    project = ProjectFactory(team=team, name="Launch")
    tasks = [
        services.task_create(actor=people["owner"], project=project, title=f"Task {i}", assignee=people["member"])[0]
        for i in range(2)
    ]
    sign_in_to_admin(client, people["admin"])  # a staff user who is the team's admin
    people["admin"].is_staff = True
    people["admin"].save(update_fields=["is_staff"])
    from django.contrib.auth.models import Permission

    people["admin"].user_permissions.set(Permission.objects.all())
    return {"team": team, "people": people, "tasks": tasks, "project": project}


def trail(task):
    """What a change to a task leaves: its Activity, and who was told how (in-app and email), by kind."""
    return {
        "activity": sorted(Activity.objects.filter(task=task).values_list("verb", "field", "actor__email")),
        "in_app": sorted(Notification.objects.filter(task=task).values_list("user__email", "kind")),
        "emails": sorted(OutboxEmail.objects.filter(task=task).values_list("recipient", "kind")),
    }


def test_a_comment_posted_in_admin_is_the_task_pages_comment(client, world):
    site_task, admin_task = world["tasks"]
    people = world["people"]
    page = client.__class__()
    page.force_login(people["admin"])
    page.post(reverse("tasks:comment_add", args=[site_task.pk]), {"body": "Look @viewer"})

    url = reverse("admin:tasks_comment_add")
    data = admin_form(client, url, "comment_form")
    data.update(task=str(admin_task.pk), body="Look @viewer")
    assert client.post(url, data).status_code == 302

    assert trail(admin_task) == trail(site_task)
    assert ("viewer@acme.test", "task_mentioned") in trail(admin_task)["in_app"]
    assert Comment.objects.get(task=admin_task).author == people["admin"]


def test_editing_someone_elses_comment_in_admin_is_refused_by_the_rule(client, world):
    task = world["tasks"][0]
    comment = services.comment_create(actor=world["people"]["member"], task=task, body="Mine")
    url = reverse("admin:tasks_comment_change", args=[comment.pk])
    data = admin_form(client, url, "comment_form")
    data["body"] = "Rewritten by an admin"
    response = client.post(url, data)
    assert response.status_code == 200
    assert form_errors(response) == {"__all__": ["Only its author can edit a comment."]}
    assert Comment.objects.get(pk=comment.pk).body == "Mine"


def test_deleting_a_comment_in_admin_records_it_as_the_page_does(client, world):
    site_task, admin_task = world["tasks"]
    member, admin = world["people"]["member"], world["people"]["admin"]
    for task in (site_task, admin_task):
        services.comment_create(actor=member, task=task, body="Hello")
    page = client.__class__()
    page.force_login(admin)
    page.post(reverse("tasks:comment_delete", args=[Comment.objects.get(task=site_task).pk]))
    comment = Comment.objects.get(task=admin_task)
    client.post(reverse("admin:tasks_comment_delete", args=[comment.pk]), {"post": "yes"})
    assert not Comment.objects.filter(task__in=[site_task, admin_task]).exists()
    assert trail(admin_task)["activity"] == trail(site_task)["activity"]


def test_a_label_in_admin_follows_the_colour_rule_and_its_delete_is_recorded(client, world):
    team, task = world["team"], world["tasks"][0]
    url = reverse("admin:tasks_label_add")
    data = admin_form(client, url, "label_form")
    data.update(team=str(team.pk), name="urgent", color="red")
    response = client.post(url, data)
    assert form_errors(response) == {"color": ["Enter a colour such as #3b82f6."]}
    assert not Label.objects.exists()

    data["color"] = "#ff0000"
    assert client.post(url, data).status_code == 302
    label = Label.objects.get(name="urgent")
    services.task_update(actor=world["people"]["owner"], task=task, data={"labels": [label]})

    client.post(reverse("admin:tasks_label_delete", args=[label.pk]), {"post": "yes"})
    assert not Label.objects.exists()
    last = Activity.objects.filter(task=task).latest("pk")
    assert (last.verb, last.field, last.old_value, last.new_value) == ("updated", "labels", [label.pk], [])


def test_a_template_in_admin_is_template_save_with_its_stages(client, world):
    team = world["team"]
    url = reverse("admin:tasks_template_add")
    data = admin_form(client, url, "template_form")
    data.update(team=str(team.pk), name="Release", description="")
    response = client.post(url, data)  # no stage row
    assert response.status_code == 200
    assert "A template needs at least one stage." in response.content.decode()
    assert not Template.objects.exists()

    data.update(
        {
            "stages-TOTAL_FORMS": "2",
            "stages-0-name": "Build",
            "stages-0-estimated_hours": "3",
            "stages-1-name": "Ship",
            "stages-1-estimated_hours": "1",
        }
    )
    assert client.post(url, data).status_code == 302
    template = Template.objects.get(name="Release")
    assert [(s.order, s.name) for s in template.stages.all()] == [(1, "Build"), (2, "Ship")]
    assert template.created_by == world["people"]["admin"]


def test_a_member_staff_user_cannot_write_a_template_of_the_team(client, world):
    """Admin of the team in admin, member elsewhere: the team's rule, not the staff flag, decides."""
    member = world["people"]["member"]
    member.is_staff = True
    member.save(update_fields=["is_staff"])
    sign_in_to_admin(client, member)
    assert client.get(reverse("admin:tasks_template_add")).status_code == 403  # sees no team to administer


def test_an_invitation_in_admin_sends_the_same_email_as_the_team_page(client, world):
    team, people = world["team"], world["people"]
    page = client.__class__()
    page.force_login(people["admin"])
    page.post(reverse("accounts:team_invite", args=[team.pk]), {"email": "site@acme.test", "role": "member"})

    url = reverse("admin:accounts_invitation_add")
    data = admin_form(client, url, "invitation_form")
    data.update(team=str(team.pk), email="admin@elsewhere.test", role="owner")
    response = client.post(url, data)
    assert form_errors(response) == {"role": ["Only an owner can invite an admin or an owner."]}
    data["role"] = "member"
    assert client.post(url, data).status_code == 302

    def sent(email):
        row = OutboxEmail.objects.get(recipient=email)
        event = AccountEvent.objects.get(email=email)
        return (row.kind, row.status, sorted(row.context), event.kind, event.actor)

    assert sent("admin@elsewhere.test") == sent("site@acme.test")
    invitation = Invitation.objects.get(email="admin@elsewhere.test")
    client.post(reverse("admin:accounts_invitation_delete", args=[invitation.pk]), {"post": "yes"})
    assert not Invitation.objects.filter(pk=invitation.pk).exists()
    assert AccountEvent.objects.filter(kind="invitation_revoked", email="admin@elsewhere.test").exists()


def test_deactivating_in_admin_does_what_leaving_every_team_does(client, world):
    people, task = world["people"], world["tasks"][0]
    services.comment_create(actor=people["owner"], task=task, body="For @member")
    member = people["member"]
    assert Notification.objects.filter(user=member).exists()
    root = UserFactory(email="root@example.test", is_staff=True, is_superuser=True)
    sign_in_to_admin(client, root)

    url = reverse("admin:accounts_user_change", args=[member.pk])
    data = admin_form(client, url, "user_form")
    data.pop("is_active", None)  # unticked
    assert client.post(url, data).status_code == 302

    member.refresh_from_db()
    assert not member.is_active
    assert not Task.objects.filter(assignee=member).exists()
    assert Activity.objects.filter(task=task, verb="assigned", old_value=member.pk, actor=root).exists()
    assert not Notification.objects.filter(user=member).exists()
    assert AccountEvent.objects.filter(kind="user_deactivated", subject=member, actor=root).exists()
    assert member.memberships.exists()  # kept, for a reactivation


def test_deactivating_the_only_owner_is_refused_by_the_field(client, world):
    root = UserFactory(email="root@example.test", is_staff=True, is_superuser=True)
    sign_in_to_admin(client, root)
    owner = world["people"]["owner"]
    url = reverse("admin:accounts_user_change", args=[owner.pk])
    data = admin_form(client, url, "user_form")
    data.pop("is_active", None)
    response = client.post(url, data)
    assert response.status_code == 200
    assert "is the only owner of Acme" in str(form_errors(response)["is_active"])
    assert User.objects.get(pk=owner.pk).is_active


def test_a_team_admin_in_admin_may_not_change_an_accounts_own_fields(client, world):
    member = world["people"]["member"]
    url = reverse("admin:accounts_user_change", args=[member.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "is_superuser" not in page.context["adminform"].form.fields
    assert client.get(f"/admin/accounts/user/{member.pk}/password/").status_code == 403


def test_activity_and_deadline_notices_are_read_only_for_the_operator_too(client, world):
    sign_in_to_admin(client, UserFactory(email="root@example.test", is_staff=True, is_superuser=True))
    activity = Activity.objects.first()
    assert client.get(reverse("admin:tasks_activity_change", args=[activity.pk])).status_code == 200
    response = client.post(reverse("admin:tasks_activity_delete", args=[activity.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert client.get(reverse("admin:tasks_deadlinenotice_add")).status_code == 403
    assert Activity.objects.filter(pk=activity.pk).exists()
