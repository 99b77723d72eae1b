"""The task page and its forms: create, edit, status, trash and restore, labels, stages, comments."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from accounts.forms import add_service_errors
from accounts.permissions import Action, can, may_delete_comment, may_edit_comment, require
from aether.live.pages import live_page
from aether.posting import post_only

from .. import selectors, services
from ..deadlines import deadlines_for
from ..forecast_text import forecast_words, risk_words
from ..forms import (
    CommentForm,
    LabelForm,
    RecurrenceForm,
    StageCompleteForm,
    StageForm,
    StageMoveForm,
    StatusForm,
    TaskCreateForm,
    TaskForm,
)
from ..models import Activity, Occurrence, Recurrence, Status, Task
from ..recurrence import choices_from_rule, parse_rule
from ..services.mentions import mention_choices, mention_links
from ..templatetags.task_text import render_markdown
from ._common import _back, _errors_text, _project_or_404, _stage_for_work, _task_for_work, _task_or_404
from .history import day_words, describe_activity

TASK_PAGE = "tasks:task_detail"  # where a GET of a task's POST-only address goes (aether/posting.py)


def _stage_page(request, pk: int) -> str:
    return reverse(TASK_PAGE, args=[get_object_or_404(selectors.stages_visible_to(request.user), pk=pk).task_id])


def _comment_page(request, pk: int) -> str:
    return reverse(TASK_PAGE, args=[_comment_for(request, pk).task_id]) + f"#comment-{pk}"


@login_required
def task_create(request, pk: int):
    project = _project_or_404(request, pk)
    require(request.user, Action.WORK, project.team_id)
    initial = {}
    template_id = request.GET.get("template")
    if template_id and template_id.isdigit():
        initial["template"] = int(template_id)
    form = TaskCreateForm(request.POST or None, team_id=project.team_id, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            task, created = services.task_create(
                actor=request.user,
                project=project,
                title=data["title"],
                description=data["description"],
                priority=data["priority"],
                assignee=data["assignee"],
                due_date=data["due_date"],
                labels=data.get("labels") or (),
                template=data["template"],
                idempotency_key=data["idempotency_key"] or None,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if created:
                messages.success(request, f"Task “{task.title}” created.")
            if request.POST.get("next"):  # the quick add of a project's board or list: back to it
                return _back(request, reverse("tasks:task_detail", args=[task.pk]))
            return redirect("tasks:task_detail", task.pk)
    return render(
        request,
        "tasks/task_create.html",
        {"project": project, "form": form, "mention_people": mention_choices(project.team_id)},
        status=422 if request.method == "POST" else 200,
    )


def _task_page(request, task: Task, *, status: int = 200, **forms):
    """The task page; `forms` replaces a blank form by the bound one whose errors are to be shown."""
    team_id = task.project.team_id
    stages = list(task.stages.all())
    activities = list(selectors.task_activity(task))
    people = selectors.users_by_id(
        [a.new_value for a in activities if a.verb == Activity.Verb.ASSIGNED]
        + [(a.old_value or {}).get("author") for a in activities if a.verb == Activity.Verb.COMMENT_DELETED]
    )
    for a in activities:
        a.text = describe_activity(a, people)
    complete_for = forms.pop("complete_for", None)
    edit_comment = forms.pop("edit_comment", None)
    comments = list(selectors.task_comments(task))
    for comment in comments:
        comment.task = task  # the permission checks read its team; no query per comment
        comment.can_edit = may_edit_comment(request.user, comment)
        comment.can_delete = may_delete_comment(request.user, comment)
        comment.edited = (comment.updated_at - comment.created_at).total_seconds() > 1
        comment.edit_form = (
            edit_comment[1]
            if edit_comment and edit_comment[0] == comment.pk
            else CommentForm(initial={"body": comment.body}, auto_id=f"id_comment{comment.pk}_%s")
        )
    for stage in stages:
        stage.complete_form = (
            complete_for[1]
            if complete_for and complete_for[0] == stage.pk
            else StageCompleteForm(
                initial={"actual_hours": stage.actual_hours}, prefix=f"stage{stage.pk}", auto_id="id_%s"
            )
        )
    edit_initial = {
        "title": task.title,
        "description": task.description,
        "priority": task.priority,
        "assignee": task.assignee_id,
        "due_date": task.due_date,
        "labels": [label.pk for label in task.labels.all()],
    }
    can_work = can(request.user, Action.WORK, team_id)
    mentions = mention_links(team_id, task.description, *(comment.body for comment in comments))
    recurrence = Recurrence.objects.filter(task=task).first()
    series = Occurrence.objects.filter(task=task).select_related("recurrence__task").first()
    today = deadlines_for(request).today(task.project.team.time_zone)
    default_start = task.due_date or today
    recurrence_summary = None
    recurrence_initial = {"starts_on": None, "weekdays": [], "month_day": default_start.day}
    if recurrence is not None and recurrence.stopped_at is None:
        rule = parse_rule(recurrence.rule)
        recurrence_summary = rule.summary(recurrence.starts_on)
        recurrence_initial = choices_from_rule(rule, recurrence.starts_on)
    forecast = selectors.loaded_forecast(task)  # with_details loaded it
    latest = None
    if recurrence is not None:
        latest = recurrence.occurrences.filter(task__isnull=False).order_by("-on_date").first()
    context = {
        "task": task,
        "stages": stages,
        "stages_done": sum(1 for s in stages if s.status == Status.COMPLETED),
        "estimated_total": sum((s.estimated_hours for s in stages), Decimal("0")),
        "actual_total": sum((s.actual_hours or Decimal("0") for s in stages), Decimal("0")),
        "comments": comments,
        "editing_comment": edit_comment[0] if edit_comment else None,
        "activities": activities,
        "deadlines": deadlines_for(request).day(task.project.team.time_zone),
        "can_work": can_work,
        "status_choices": Status.choices,
        "statuses": Status,
        "recurrence": recurrence if recurrence_summary else None,
        "recurrence_summary": recurrence_summary,
        "series": series,
        "latest_occurrence": latest,
        "mentions": mentions,
        "today": today,
        "forecast": forecast,
        "forecast_text": forecast_words(forecast, today),
        "risk_text": risk_words(forecast, task.due_date, today),
    }
    if can_work:
        context.update(
            {
                "edit_form": forms.get("edit_form") or TaskForm(initial=edit_initial, team_id=team_id),
                "stage_form": forms.get("stage_form") or StageForm(),
                "comment_form": forms.get("comment_form") or CommentForm(),
                "label_form": forms.get("label_form") or LabelForm(),
                "open_edit": "edit_form" in forms,
                "recurrence_form": forms.get("recurrence_form")
                or RecurrenceForm(initial=recurrence_initial, default_start=default_start, auto_id="id_repeat_%s"),
                "open_recurrence": "recurrence_form" in forms,
                "mention_people": mention_choices(team_id),
            }
        )
    return render(request, "tasks/task_detail.html", context, status=status)


@login_required
@live_page("task")
def task_detail(request, pk: int):
    task = _task_or_404(request, pk, include_deleted=True)
    if task.deleted_at is not None:
        return _trashed_task_page(request, task)
    return _task_page(request, task)


def _trashed_task_page(request, task: Task):
    """A link to a trashed task: a 404 that says the task is in the trash, with Restore for those who may
    (members and up); a viewer learns nothing of it but its title. Rendered here, not raised, so that it looks
    the same with DEBUG on (Django's debug 404 would list the URL patterns)."""
    can_work = can(request.user, Action.WORK, task.project.team_id)
    trashed_by = None
    if can_work:
        deleted = task.activities.filter(verb=Activity.Verb.DELETED).select_related("actor").order_by("-pk").first()
        trashed_by = deleted.actor if deleted else None
    return render(
        request,
        "tasks/task_trashed.html",
        {"task": task, "can_work": can_work, "trashed_by": trashed_by},
        status=404,
    )


@login_required
@post_only(TASK_PAGE)
def task_edit(request, pk: int):
    task = _task_for_work(request, pk)
    form = TaskForm(request.POST, team_id=task.project.team_id)
    if form.is_valid():
        data = dict(form.cleaned_data)
        if "labels" in data:
            data["labels"] = list(data["labels"])
        try:
            services.task_update(actor=request.user, task=task, data=data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Task saved.")
            return redirect("tasks:task_detail", task.pk)
    task = _task_or_404(request, pk)  # the service may have changed the copy before refusing
    return _task_page(request, task, status=422, edit_form=form)


@login_required
@post_only(TASK_PAGE)
def task_recurrence(request, pk: int):
    """Set or change the rule the task repeats by (the rule editor of the task page)."""
    task = _task_for_work(request, pk)
    default_start = task.due_date or deadlines_for(request).today(task.project.team.time_zone)
    form = RecurrenceForm(request.POST, default_start=default_start, auto_id="id_repeat_%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.recurrence_set(
                actor=request.user, task=task, rule=data["rule"], starts_on=data["starts_on"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            today = deadlines_for(request).today(task.project.team.time_zone)
            past = (
                f" It started on {day_words(saved.starts_on.isoformat())}, in the past: no task is made for a date "
                "before today."
                if saved.starts_on < today
                else ""
            )
            messages.success(
                request,
                f"The repeats are saved: the next task is made on {day_words(saved.next_on.isoformat())}.{past}",
            )
            return redirect(reverse("tasks:task_detail", args=[task.pk]) + "#repeats")
    return _task_page(request, _task_or_404(request, pk), status=422, recurrence_form=form)


@login_required
@post_only(TASK_PAGE)
def task_recurrence_stop(request, pk: int):
    task = _task_for_work(request, pk)
    if services.recurrence_stop(actor=request.user, task=task) is not None:
        messages.success(request, "The task no longer repeats; the occurrences made so far stay.")
    return redirect(reverse("tasks:task_detail", args=[task.pk]) + "#repeats")


@login_required
@post_only(TASK_PAGE)
def task_status(request, pk: int):
    """Move a task to a status (the board's cards, the task page). A refused move is a message, not an error
    page: a task with stages follows its stages."""
    task = _task_for_work(request, pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose pending, in progress or completed.")
    else:
        try:
            services.task_set_status(actor=request.user, task=task, status=form.cleaned_data["status"])
        except ValidationError as exc:
            messages.error(request, f"“{task.title}” was not moved: {_errors_text(exc)}")
        else:
            messages.success(request, f"“{task.title}” is now {task.get_status_display().lower()}.")
    return _back(request, reverse("tasks:task_detail", args=[task.pk]))


@login_required
@post_only(TASK_PAGE)
def task_delete(request, pk: int):
    task = _task_for_work(request, pk)
    services.task_delete(actor=request.user, task=task)
    messages.success(request, f"“{task.title}” was moved to the trash.")
    return redirect("tasks:board", task.project_id)


@login_required
@post_only(TASK_PAGE)
def task_restore(request, pk: int):
    task = _task_or_404(request, pk, include_deleted=True)
    require(request.user, Action.WORK, task.project.team_id)
    services.task_restore(actor=request.user, task=task)
    messages.success(request, f"“{task.title}” was restored.")
    return _back(request, reverse("tasks:trash"))


@login_required
@post_only(TASK_PAGE)
def label_add(request, pk: int):
    task = _task_for_work(request, pk)
    form = LabelForm(request.POST)
    if form.is_valid():
        try:
            label = services.task_label_create(actor=request.user, task=task, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Label “{label.name}” created and put on this task.")
            return redirect("tasks:task_detail", task.pk)
    return _task_page(request, task, status=422, label_form=form)


@login_required
@post_only(TASK_PAGE)
def stage_add(request, pk: int):
    task = _task_for_work(request, pk)
    form = StageForm(request.POST)
    if form.is_valid():
        try:
            services.stage_add(actor=request.user, task=task, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect(reverse("tasks:task_detail", args=[task.pk]) + "#stages")
    return _task_page(request, _task_or_404(request, pk), status=422, stage_form=form)


def _after_stage(request, stage, exc: ValidationError | None = None):
    if exc is not None:
        messages.error(request, f"Stage “{stage.name}”: {_errors_text(exc)}")
    return redirect(reverse("tasks:task_detail", args=[stage.task_id]) + "#stages")


def _stage_set_status(request, pk: int, status: str, *, expected: str):
    stage = _stage_for_work(request, pk)
    try:
        services.stage_set_status(actor=request.user, stage=stage, status=status, expected_status=expected)
    except ValidationError as exc:
        return _after_stage(request, stage, exc)
    return _after_stage(request, stage)


@login_required
@post_only(_stage_page)
def stage_start(request, pk: int):
    return _stage_set_status(request, pk, Status.IN_PROGRESS, expected=Status.PENDING)


@login_required
@post_only(_stage_page)
def stage_complete(request, pk: int):
    stage = _stage_for_work(request, pk)
    form = StageCompleteForm(request.POST, prefix=f"stage{stage.pk}", auto_id="id_%s")
    if form.is_valid():
        try:
            services.stage_set_status(
                actor=request.user, stage=stage, status=Status.COMPLETED, actual_hours=form.cleaned_data["actual_hours"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Stage “{stage.name}” completed.")
            return _after_stage(request, stage)
    task = _task_or_404(request, stage.task_id)
    return _task_page(request, task, status=422, complete_for=(stage.pk, form))


@login_required
@post_only(_stage_page)
def stage_reopen(request, pk: int):
    """Back to in progress (the page offers it on a completed stage)."""
    return _stage_set_status(request, pk, Status.IN_PROGRESS, expected=Status.COMPLETED)


@login_required
@post_only(_stage_page)
def stage_delete(request, pk: int):
    stage = _stage_for_work(request, pk)
    try:
        services.stage_delete(actor=request.user, stage=stage)
    except ValidationError as exc:
        return _after_stage(request, stage, exc)
    messages.success(request, f"Stage “{stage.name}” deleted.")
    return _after_stage(request, stage)


@login_required
@post_only(_stage_page)
def stage_move(request, pk: int):
    """Move a stage one place up or down (a keyboard-friendly reorder, through stages_reorder)."""
    stage = _stage_for_work(request, pk)
    form = StageMoveForm(request.POST)
    if not form.is_valid():
        return _after_stage(request, stage, ValidationError("Move a stage up or down."))
    ids = list(stage.task.stages.order_by("order").values_list("pk", flat=True))
    i = ids.index(stage.pk)
    j = i - 1 if form.cleaned_data["direction"] == "up" else i + 1
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
        try:
            services.stages_reorder(actor=request.user, task=stage.task, stage_ids=ids)
        except ValidationError as exc:
            return _after_stage(request, stage, exc)
    return _after_stage(request, stage)


@login_required
@post_only(TASK_PAGE)
def comment_add(request, pk: int):
    task = _task_for_work(request, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = services.comment_create(actor=request.user, task=task, body=form.cleaned_data["body"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Your comment is posted.")
            return redirect(reverse("tasks:task_detail", args=[task.pk]) + f"#comment-{comment.pk}")
    return _task_page(request, task, status=422, comment_form=form)


def _comment_for(request, pk: int):
    return get_object_or_404(selectors.comments_visible_to(request.user), pk=pk)


@login_required
@post_only(_comment_page)
def comment_edit(request, pk: int):
    comment = _comment_for(request, pk)
    form = CommentForm(request.POST, auto_id=f"id_comment{comment.pk}_%s")
    if form.is_valid():
        try:
            services.comment_update(actor=request.user, comment=comment, body=form.cleaned_data["body"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Comment saved.")
            return redirect(reverse("tasks:task_detail", args=[comment.task_id]) + f"#comment-{comment.pk}")
    task = _task_or_404(request, comment.task_id)
    return _task_page(request, task, status=422, edit_comment=(comment.pk, form))


@login_required
@post_only(_comment_page)
def comment_delete(request, pk: int):
    comment = _comment_for(request, pk)
    try:
        services.comment_delete(actor=request.user, comment=comment)
    except ValidationError as exc:
        messages.error(request, f"The comment was not deleted: {_errors_text(exc)}")
    else:
        messages.success(request, "Comment deleted.")
    return redirect(reverse("tasks:task_detail", args=[comment.task_id]) + "#comments")


@login_required
@post_only("tasks:board")
def markdown_preview(request, pk: int):
    """The Preview tab of a description or a comment (static/js/writing.js): `text` rendered by the page's
    own renderer and sanitiser, its @mentions of the project's team as links. Writes nothing."""
    project = _project_or_404(request, pk)
    require(request.user, Action.WORK, project.team_id)
    text = request.POST.get("text", "")[:20000]
    if not text.strip():
        return HttpResponse('<p class="muted">Nothing to preview yet.</p>')
    return HttpResponse(render_markdown(text, mention_links(project.team_id, text)))
