"""The task lifecycle rules of DESIGN.md, through the services."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.tests.factories import MembershipFactory, UserFactory
from notifications.models import Notification, OutboxEmail
from tasks import services
from tasks.models import Activity, Priority, Stage, Status, Task
from tasks.tests.factories import LabelFactory, ProjectFactory, TemplateFactory, TemplateStageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(team_roles):
    team, _, _ = team_roles
    return ProjectFactory(team=team, name="Launch")


@pytest.fixture
def member(team_roles):
    return team_roles[2]["member"]


def make_task(project, actor, stages=(("Design", 4), ("Build", 8)), **kwargs):
    task, created = services.task_create(
        actor=actor,
        project=project,
        title=kwargs.pop("title", "Ship it"),
        stages=[{"name": n, "estimated_hours": h} for n, h in stages],
        **kwargs,
    )
    assert created
    return task


def verbs(task):
    return list(task.activities.order_by("id").values_list("verb", flat=True))


# --- creating ----------------------------------------------------------------------------------------------


def test_create_writes_task_stages_and_a_created_activity(project, member):
    task = make_task(project, member)

    assert task.status == Status.PENDING
    assert list(task.stages.values_list("order", "name", "estimated_hours")) == [
        (1, "Design", Decimal("4.00")),
        (2, "Build", Decimal("8.00")),
    ]
    assert verbs(task) == [Activity.Verb.CREATED]
    assert task.activities.get().actor == member


def test_create_from_template_copies_its_stages_in_order(project, member):
    template = TemplateFactory(team=project.team)
    TemplateStageFactory(template=template, order=2, name="Review", estimated_hours=Decimal("3"))
    TemplateStageFactory(template=template, order=1, name="Draft", estimated_hours=Decimal("5.5"))

    task, _ = services.task_create(actor=member, project=project, title="Post", template=template)

    assert task.template == template
    assert list(task.stages.values_list("order", "name", "estimated_hours")) == [
        (1, "Draft", Decimal("5.50")),
        (2, "Review", Decimal("3.00")),
    ]


def test_create_from_another_teams_template_is_refused(project, member):
    foreign = TemplateFactory()
    TemplateStageFactory(template=foreign)

    with pytest.raises(ValidationError) as err:
        services.task_create(actor=member, project=project, title="Post", template=foreign)

    assert "template" in err.value.message_dict
    assert Task.objects.count() == 0


def test_same_idempotency_key_from_same_user_returns_the_first_task(project, member):
    first, created_first = services.task_create(actor=member, project=project, title="A", idempotency_key="k-1")
    again, created_again = services.task_create(actor=member, project=project, title="B", idempotency_key="k-1")

    assert (created_first, created_again) == (True, False)
    assert again.pk == first.pk
    assert Task.objects.count() == 1
    assert Activity.objects.count() == 1


def test_same_idempotency_key_from_another_user_is_another_task(project, member, team_roles):
    admin = team_roles[2]["admin"]
    a, _ = services.task_create(actor=member, project=project, title="A", idempotency_key="k-1")
    b, created = services.task_create(actor=admin, project=project, title="B", idempotency_key="k-1")

    assert created
    assert a.pk != b.pk


@pytest.mark.parametrize("key", ["", "   ", "x" * 65])
def test_bad_idempotency_key_is_refused_naming_the_field(project, member, key):
    with pytest.raises(ValidationError) as err:
        services.task_create(actor=member, project=project, title="A", idempotency_key=key)
    assert "idempotency_key" in err.value.message_dict
    assert Task.objects.count() == 0


def test_assigning_on_create_notifies_the_assignee_not_the_actor(project, member, team_roles):
    admin = team_roles[2]["admin"]

    task = make_task(project, member, assignee=admin)
    make_task(project, member, title="Mine", assignee=member)

    assert list(OutboxEmail.objects.values_list("recipient", "kind")) == [(admin.email, "task_assigned")]
    assert list(Notification.objects.values_list("user", "task")) == [(admin.pk, task.pk)]


def test_assignee_from_another_team_is_refused(project, member, team_roles):
    outsider = team_roles[2]["outsider"]

    with pytest.raises(ValidationError) as err:
        make_task(project, member, assignee=outsider)

    assert "assignee" in err.value.message_dict
    assert (Task.objects.count(), Activity.objects.count(), OutboxEmail.objects.count()) == (0, 0, 0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"priority": 9}, "priority"),
        ({"stages": [{"name": "A", "estimated_hours": 0}]}, "stages"),
        ({"stages": [{"name": "A", "estimated_hours": -1}]}, "stages"),
        ({"stages": [{"name": "A", "estimated_hours": "lots"}]}, "stages"),
        ({"stages": [{"name": "", "estimated_hours": 2}]}, "stages"),
    ],
)
def test_invalid_create_names_the_field_and_writes_nothing(project, member, kwargs, field):
    base = {"title": "Valid"}
    with pytest.raises(ValidationError) as err:
        services.task_create(actor=member, project=project, **{**base, **kwargs})
    assert field in err.value.message_dict
    assert (Task.objects.count(), Stage.objects.count(), Activity.objects.count()) == (0, 0, 0)


@pytest.mark.parametrize("role", ["viewer", "outsider"])
def test_viewers_and_outsiders_cannot_create(project, team_roles, role):
    with pytest.raises(PermissionDenied):
        make_task(project, team_roles[2][role])
    assert Task.objects.count() == 0


# --- stages roll up to the task ----------------------------------------------------------------------------


def test_starting_a_stage_puts_the_task_in_progress(project, member):
    task = make_task(project, member)
    first = task.stages.get(order=1)

    services.stage_set_status(actor=member, status=Status.IN_PROGRESS, stage=first)

    task.refresh_from_db()
    assert task.status == Status.IN_PROGRESS
    assert task.started_at is not None
    assert verbs(task)[-2:] == [Activity.Verb.STAGE_STARTED, Activity.Verb.STATUS_CHANGED]


def test_completing_a_stage_without_actual_hours_is_refused_naming_actual_hours(project, member):
    task = make_task(project, member)
    stage = task.stages.get(order=1)
    services.stage_set_status(actor=member, status=Status.IN_PROGRESS, stage=stage)
    before = Activity.objects.count()

    with pytest.raises(ValidationError) as err:
        services.stage_set_status(actor=member, status=Status.COMPLETED, stage=stage)

    assert list(err.value.message_dict) == ["actual_hours"]
    stage.refresh_from_db()
    assert stage.status == Status.IN_PROGRESS
    assert Activity.objects.count() == before


def test_negative_actual_hours_are_refused(project, member):
    task = make_task(project, member)
    with pytest.raises(ValidationError) as err:
        services.stage_set_status(
            actor=member, status=Status.COMPLETED, stage=task.stages.get(order=1), actual_hours="-2"
        )
    assert "actual_hours" in err.value.message_dict


def test_all_stages_completed_completes_the_task_at_the_last_stages_time(project, member, team_roles):
    creator = team_roles[2]["admin"]
    task = make_task(project, creator)
    first, second = task.stages.order_by("order")

    services.stage_set_status(actor=member, status=Status.COMPLETED, stage=first, actual_hours="3.5")
    task.refresh_from_db()
    assert task.status == Status.IN_PROGRESS
    services.stage_set_status(actor=member, status=Status.COMPLETED, stage=second, actual_hours=9)

    task.refresh_from_db()
    second.refresh_from_db()
    assert task.status == Status.COMPLETED
    assert task.completed_at == second.completed_at
    assert second.actual_hours == Decimal("9.00")
    assert Activity.Verb.COMPLETED in verbs(task)
    # The creator hears that their task was completed; the member who completed it does not.
    assert list(OutboxEmail.objects.filter(kind="task_completed").values_list("recipient", flat=True)) == [
        creator.email
    ]


def test_reopening_a_stage_reopens_the_task_and_clears_completed_at(project, member):
    task = make_task(project, member, stages=(("Only", 1),))
    stage = task.stages.get()
    services.stage_set_status(actor=member, status=Status.COMPLETED, stage=stage, actual_hours=1)

    services.stage_set_status(actor=member, status=Status.IN_PROGRESS, stage=stage)

    task.refresh_from_db()
    assert task.status == Status.IN_PROGRESS
    assert task.completed_at is None
    assert verbs(task)[-1] == Activity.Verb.REOPENED


def test_task_reopen_reopens_the_last_stage(project, member):
    task = make_task(project, member)
    for stage in task.stages.order_by("order"):
        services.stage_set_status(actor=member, status=Status.COMPLETED, stage=stage, actual_hours=2)

    services.task_reopen(actor=member, task=task)

    task.refresh_from_db()
    assert task.status == Status.IN_PROGRESS
    assert task.completed_at is None
    assert list(task.stages.order_by("order").values_list("status", flat=True)) == [
        Status.COMPLETED,
        Status.IN_PROGRESS,
    ]


def test_adding_a_stage_to_a_completed_task_reopens_it(project, member):
    task = make_task(project, member, stages=(("Only", 1),))
    services.stage_set_status(actor=member, status=Status.COMPLETED, stage=task.stages.get(), actual_hours=1)

    services.stage_add(actor=member, task=task, name="Follow-up", estimated_hours=2)

    task.refresh_from_db()
    assert task.status == Status.IN_PROGRESS
    assert task.completed_at is None


def test_deleting_the_last_open_stage_completes_the_task(project, member):
    task = make_task(project, member)
    first, second = task.stages.order_by("order")
    services.stage_set_status(actor=member, status=Status.COMPLETED, stage=first, actual_hours=2)

    services.stage_delete(actor=member, stage=second)

    task.refresh_from_db()
    assert task.status == Status.COMPLETED
    assert task.completed_at == Stage.objects.get(pk=first.pk).completed_at


def test_deleting_a_stage_renumbers_the_rest(project, member):
    task = make_task(project, member, stages=(("A", 1), ("B", 1), ("C", 1)))

    services.stage_delete(actor=member, stage=task.stages.get(name="A"))

    assert list(task.stages.order_by("order").values_list("order", "name")) == [(1, "B"), (2, "C")]


def test_reorder_stages(project, member):
    task = make_task(project, member, stages=(("A", 1), ("B", 1), ("C", 1)))
    a, b, c = task.stages.order_by("order")

    services.stages_reorder(actor=member, task=task, stage_ids=[c.pk, a.pk, b.pk])

    assert list(task.stages.order_by("order").values_list("name", flat=True)) == ["C", "A", "B"]
    assert verbs(task)[-1] == Activity.Verb.STAGES_REORDERED


@pytest.mark.parametrize("case", ["none", "one", "dup", "foreign", "junk"])
def test_reorder_must_name_each_stage_once(project, member, case):
    task = make_task(project, member, stages=(("A", 1), ("B", 1)))
    a, _b = task.stages.order_by("order")
    other = make_task(project, member, title="Other")
    wanted = {
        "none": [],
        "one": [a.pk],
        "dup": [a.pk, a.pk],
        "foreign": [a.pk, other.stages.first().pk],
        "junk": [a.pk, "b"],
    }[case]

    with pytest.raises(ValidationError) as err:
        services.stages_reorder(actor=member, task=task, stage_ids=wanted)

    assert "stage_ids" in err.value.message_dict
    assert list(task.stages.order_by("order").values_list("name", flat=True)) == ["A", "B"]


# --- tasks without stages, and the board ---------------------------------------------------------------------


def test_task_without_stages_is_completed_and_reopened_by_hand(project, member):
    task = make_task(project, member, stages=())

    services.task_set_status(actor=member, task=task, status=Status.IN_PROGRESS)
    services.task_complete(actor=member, task=task)
    task.refresh_from_db()
    assert (task.status, task.completed_at is not None) == (Status.COMPLETED, True)

    services.task_reopen(actor=member, task=task)
    task.refresh_from_db()
    assert (task.status, task.completed_at) == (Status.IN_PROGRESS, None)


def test_a_task_with_open_stages_cannot_be_completed_by_hand(project, member):
    task = make_task(project, member)
    before = Activity.objects.count()

    with pytest.raises(ValidationError) as err:
        services.task_set_status(actor=member, task=task, status=Status.COMPLETED)

    assert "status" in err.value.message_dict
    task.refresh_from_db()
    assert task.status == Status.PENDING
    assert Activity.objects.count() == before


def test_moving_a_staged_task_to_in_progress_starts_its_first_stage(project, member):
    task = make_task(project, member)

    services.task_set_status(actor=member, task=task, status=Status.IN_PROGRESS)

    assert task.stages.get(order=1).status == Status.IN_PROGRESS
    assert Task.objects.get(pk=task.pk).status == Status.IN_PROGRESS


def test_unknown_status_is_refused(project, member):
    task = make_task(project, member)
    with pytest.raises(ValidationError) as err:
        services.task_set_status(actor=member, task=task, status="overdue")
    assert "status" in err.value.message_dict


# --- edits, soft delete ------------------------------------------------------------------------------------


def test_update_records_one_activity_per_changed_field(project, member, team_roles):
    task = make_task(project, member)
    label = LabelFactory(team=project.team)

    services.task_update(
        actor=member,
        task=task,
        data={"title": "Ship it", "priority": Priority.URGENT, "due_date": None, "labels": [label]},
    )

    changes = list(task.activities.filter(verb=Activity.Verb.UPDATED).values_list("field", "old_value", "new_value"))
    assert changes == [("priority", Priority.MEDIUM, Priority.URGENT), ("labels", [], [label.pk])]


def test_update_with_a_foreign_label_changes_nothing(project, member):
    task = make_task(project, member)
    before = Activity.objects.count()

    with pytest.raises(ValidationError) as err:
        services.task_update(actor=member, task=task, data={"title": "New", "labels": [LabelFactory()]})

    assert "labels" in err.value.message_dict
    task.refresh_from_db()
    assert task.title == "Ship it"
    assert Activity.objects.count() == before


def test_unknown_fields_are_refused(project, member):
    task = make_task(project, member)
    with pytest.raises(ValidationError) as err:
        services.task_update(actor=member, task=task, data={"status": "completed"})
    assert "status" in err.value.message_dict


def test_soft_delete_and_restore(project, member):
    task = make_task(project, member)

    services.task_delete(actor=member, task=task)
    task.refresh_from_db()
    assert task.deleted_at is not None
    assert Task.objects.alive().count() == 0

    services.task_restore(actor=member, task=task)
    task.refresh_from_db()
    assert task.deleted_at is None
    assert verbs(task)[-2:] == [Activity.Verb.DELETED, Activity.Verb.RESTORED]


def test_a_trashed_task_cannot_be_edited(project, member):
    task = make_task(project, member)
    services.task_delete(actor=member, task=task)

    with pytest.raises(ValidationError):
        services.stage_set_status(actor=member, status=Status.IN_PROGRESS, stage=task.stages.first())


# --- comments ------------------------------------------------------------------------------------------------


def test_comment_notifies_creator_and_assignee_but_not_the_commenter(project, team_roles):
    people = team_roles[2]
    task = make_task(project, people["admin"], assignee=people["owner"])
    OutboxEmail.objects.all().delete()

    services.comment_create(actor=people["member"], task=task, body="Looks good")
    services.comment_create(actor=people["admin"], task=task, body="Thanks")

    recipients = sorted(OutboxEmail.objects.values_list("recipient", flat=True))
    assert recipients == sorted([people["admin"].email, people["owner"].email, people["owner"].email])


def test_empty_comment_is_refused(project, member):
    task = make_task(project, member)
    with pytest.raises(ValidationError) as err:
        services.comment_create(actor=member, task=task, body="   ")
    assert "body" in err.value.message_dict


def test_viewer_cannot_comment(project, member, team_roles):
    task = make_task(project, member)
    with pytest.raises(PermissionDenied):
        services.comment_create(actor=team_roles[2]["viewer"], task=task, body="Hi")


# --- projects and templates --------------------------------------------------------------------------------


def test_project_names_are_unique_in_a_team_ignoring_case(team_roles):
    team, other, people = team_roles
    services.project_create(actor=people["admin"], team=team, name="Website")

    with pytest.raises(ValidationError) as err:
        services.project_create(actor=people["admin"], team=team, name="website")
    assert "name" in err.value.message_dict

    services.project_create(actor=people["outsider"], team=other, name="Website")  # another team may


def test_members_cannot_create_projects(team_roles):
    team, _, people = team_roles
    with pytest.raises(PermissionDenied):
        services.project_create(actor=people["member"], team=team, name="Nope")


def test_template_save_replaces_stages(team_roles):
    team, _, people = team_roles
    template = services.template_save(
        actor=people["admin"], team=team, name="Flow", stages=[{"name": "A", "estimated_hours": 1}]
    )

    services.template_save(
        actor=people["admin"],
        team=team,
        name="Flow",
        template=template,
        stages=[{"name": "B", "estimated_hours": 2}, {"name": "C", "estimated_hours": 3}],
    )

    assert list(template.stages.values_list("order", "name")) == [(1, "B"), (2, "C")]


def test_template_needs_a_stage(team_roles):
    team, _, people = team_roles
    with pytest.raises(ValidationError) as err:
        services.template_save(actor=people["admin"], team=team, name="Empty", stages=[])
    assert "stages" in err.value.message_dict


def test_an_actor_must_be_a_member_even_for_reads_of_roles(team_roles):
    """A user in no team at all is refused everything."""
    team, _, _ = team_roles
    loner = UserFactory()
    project = ProjectFactory(team=team)
    with pytest.raises(PermissionDenied):
        make_task(project, loner)
    MembershipFactory(team=team, user=loner, role="member")
    loner.__dict__.pop("_aether_roles", None)
    assert make_task(project, loner).created_by == loner
