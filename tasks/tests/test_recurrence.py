"""Repeating tasks: the rule (parsing, words, dates), and the job making occurrences at fixed instants: across a
change of clocks, at month ends and leap days, catching up missed dates within the bound, and after the rule
changes or stops. Dates are worked out by hand in each test."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Membership, Role
from accounts.tests.factories import TeamFactory, UserFactory
from notifications.models import Notification, OutboxEmail
from tasks import services
from tasks.models import Activity, Occurrence, Recurrence, Stage, Status, Task
from tasks.recurrence import RuleError, parse_rule, rule_from_choices
from tasks.services.recurrence import recurrences_run
from tasks.tests.factories import (
    LabelFactory,
    ProjectFactory,
    StageFactory,
    TaskFactory,
    TemplateFactory,
    TemplateStageFactory,
)

V = Activity.Verb


def at(y, m, d, h=12, minute=0):
    return datetime(y, m, d, h, minute, tzinfo=UTC)


# --- the rule ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical", "summary"),
    [
        ("FREQ=DAILY", "FREQ=DAILY", "Every day"),
        (
            "rrule:freq=weekly;byday=th,mo;interval=2;until=20270301",
            None,
            "Every 2 weeks on Mon, Thu, until 2027-03-01",
        ),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", None, "Every weekday"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4", None, "Every month on the last day, 4 times"),
        ("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15", None, "Every 3 months on day 15"),
        ("FREQ=MONTHLY;BYMONTHDAY=30,29,28;BYSETPOS=-1", "FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1", None),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1", None, "Every year on 29 Feb (28 Feb in other years)"),
        ("FREQ=DAILY;COUNT=1", None, "Every day, once"),
    ],
)
def test_a_supported_rule_is_kept_in_its_canonical_text_and_said_in_words(text, canonical, summary):
    rule = parse_rule(text)
    expected = canonical or text.upper().removeprefix("RRULE:")
    if canonical is None and text.startswith("rrule:"):
        expected = "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;UNTIL=20270301"
    assert rule.text() == expected
    if summary:
        assert rule.summary(date(2027, 1, 4)) == summary


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Give a rule"),
        ("FREQ=HOURLY", "FREQ=HOURLY is not supported"),
        ("FREQ=WEEKLY;BYHOUR=9", "BYHOUR is not supported"),
        ("FREQ=WEEKLY;FREQ=DAILY", "FREQ is given twice"),
        ("INTERVAL=2", "A rule needs FREQ"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL takes a whole number from 1 to 999"),
        ("FREQ=DAILY;INTERVAL=abc", "INTERVAL takes a whole number"),
        ("FREQ=WEEKLY;BYDAY=1MO", "BYDAY takes weekdays"),
        ("FREQ=WEEKLY;BYDAY=MO,MO", "BYDAY names a value twice"),
        ("FREQ=MONTHLY;BYDAY=MO", "BYDAY is supported with FREQ=DAILY or WEEKLY only"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY takes a whole number from -1 to 31"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY takes days 1 to 31"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1;BYSETPOS=-1", "BYSETPOS is supported only"),
        ("FREQ=DAILY;UNTIL=2027-03-01", "UNTIL is a date written YYYYMMDD"),
        ("FREQ=DAILY;UNTIL=20270230", "UNTIL is a date written YYYYMMDD"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20270301", "Give UNTIL or COUNT, not both"),
        ("FREQ=DAILY;COUNT=1001", "COUNT takes a whole number from 1 to 1000"),
        ("FREQ=DAILY;;", "is not KEY=VALUE"),
        ("FREQ=DAILY\x00", "plain letters"),
        ("FREQ=DAILY;" + "X" * 300, "at most 200 characters"),
    ],
)
def test_a_malformed_or_unsupported_rule_is_refused_in_words(text, message):
    with pytest.raises(RuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_rule(text)


def test_the_editor_writes_month_ends_and_leap_days_as_the_last_day_of_a_shorter_month():
    common = {"interval": 1, "weekdays": [], "end": "never", "until": None, "count": None}
    on_31st = rule_from_choices(
        frequency="monthly", monthly_on="day", month_day=31, starts_on=date(2027, 1, 31), **common
    )
    on_30th = rule_from_choices(
        frequency="monthly", monthly_on="day", month_day=30, starts_on=date(2027, 1, 30), **common
    )
    leap = rule_from_choices(
        frequency="yearly", monthly_on="day", month_day=None, starts_on=date(2028, 2, 29), **common
    )
    assert on_31st.text() == "FREQ=MONTHLY;BYMONTHDAY=-1"
    assert on_30th.text() == "FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1"
    assert on_30th.dates_between(date(2027, 1, 30), date(2027, 1, 1), date(2027, 4, 30), limit=9) == [
        date(2027, 1, 30),
        date(2027, 2, 28),
        date(2027, 3, 30),
        date(2027, 4, 30),
    ]
    assert leap.text() == "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1"


# --- the job ---------------------------------------------------------------------------------------------------


@pytest.fixture
def team():
    """A Berlin team: owner Olga, member Mia (the assignee), viewer Vic."""
    team = TeamFactory(name="Acme", time_zone="Europe/Berlin")
    people = {}
    for name, role in (("olga", Role.OWNER), ("mia", Role.MEMBER), ("vic", Role.VIEWER)):
        people[name] = UserFactory(email=f"{name}@acme.test", full_name=name.title())
        Membership.objects.create(team=team, user=people[name], role=role)
    return team, people, ProjectFactory(team=team, name="Ops")


def source_task(project, people, *, due, **kwargs):
    return TaskFactory(project=project, title="Water the plants", created_by=people["olga"], due_date=due, **kwargs)


def made(source):
    """The due dates of the occurrences made from `source`, in order."""
    return list(
        Task.objects.filter(occurrence__recurrence__task=source).order_by("due_date").values_list("due_date", flat=True)
    )


@pytest.mark.django_db
def test_a_daily_rule_makes_each_day_at_midnight_in_the_team_zone_across_the_change_of_clocks(team):
    """Berlin moves its clocks on 29 March 2026 (CET +1 to CEST +2): the 29th begins at 23:00 UTC on the
    28th, the 30th at 22:00 UTC on the 29th. Each occurrence appears exactly when its day begins there."""
    _, people, project = team
    source = source_task(project, people, due=date(2026, 3, 28))
    services.recurrence_set(actor=people["olga"], task=source, rule="FREQ=DAILY", now=at(2026, 3, 28, 9))
    assert Recurrence.objects.get(task=source).next_on == date(2026, 3, 29)

    assert recurrences_run(now=at(2026, 3, 28, 22, 59)).created == 0  # 23:59 CET on the 28th
    assert recurrences_run(now=at(2026, 3, 28, 23, 0)).created == 1  # 00:00 CET on the 29th
    assert made(source) == [date(2026, 3, 29)]
    assert recurrences_run(now=at(2026, 3, 29, 21, 59)).created == 0  # 23:59 CEST on the 29th
    assert recurrences_run(now=at(2026, 3, 29, 22, 0)).created == 1  # 00:00 CEST on the 30th
    assert recurrences_run(now=at(2026, 3, 29, 22, 15)).created == 0  # the next run: nothing twice
    assert made(source) == [date(2026, 3, 29), date(2026, 3, 30)]
    assert Recurrence.objects.get(task=source).next_on == date(2026, 3, 31)


@pytest.mark.django_db
def test_the_last_day_of_the_month_from_the_31st_falls_on_each_month_end(team):
    _, people, project = team
    source = source_task(project, people, due=date(2027, 1, 31))
    services.recurrence_set(actor=people["olga"], task=source, rule="FREQ=MONTHLY;BYMONTHDAY=-1", now=at(2027, 1, 31))

    for instant in (at(2027, 2, 28), at(2027, 3, 31), at(2027, 4, 30), at(2027, 5, 30)):
        recurrences_run(now=instant)

    assert made(source) == [date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]
    assert Recurrence.objects.get(task=source).next_on == date(2027, 5, 31)


@pytest.mark.django_db
def test_a_plain_monthly_rule_on_the_31st_skips_shorter_months_as_rfc_5545_says(team):
    _, people, project = team
    source = source_task(project, people, due=date(2027, 1, 31))
    services.recurrence_set(actor=people["olga"], task=source, rule="FREQ=MONTHLY", now=at(2027, 1, 31))

    recurrences_run(now=at(2027, 5, 31))

    assert made(source) == [date(2027, 3, 31), date(2027, 5, 31)]


@pytest.mark.django_db
def test_a_yearly_rule_from_29_february(team):
    """The editor's rule falls on 28 February in common years; a bare FREQ=YEARLY only in leap years."""
    _, people, project = team
    editor = source_task(project, people, due=date(2028, 2, 29))
    bare = source_task(project, people, due=date(2028, 2, 29))
    services.recurrence_set(
        actor=people["olga"], task=editor, rule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1", now=at(2028, 2, 1)
    )
    services.recurrence_set(actor=people["olga"], task=bare, rule="FREQ=YEARLY", now=at(2028, 2, 1))

    for year in (2029, 2030, 2031, 2032):
        recurrences_run(now=at(year, 3, 1))

    assert made(editor) == [date(2029, 2, 28), date(2030, 2, 28), date(2031, 2, 28), date(2032, 2, 29)]
    assert made(bare) == [date(2032, 2, 29)]


@pytest.mark.django_db
def test_missed_dates_are_made_on_the_next_run_each_once_at_most_the_bound_a_run(team, caplog):
    """Daily from 1 January; nothing ran until 1 March: 59 dates are due (2 Jan to 1 Mar). The first run makes
    50 (2 Jan to 20 Feb) and says so; the next makes the other 9; the one after, none."""
    _, people, project = team
    source = source_task(project, people, due=date(2026, 1, 1))
    services.recurrence_set(actor=people["olga"], task=source, rule="FREQ=DAILY", now=at(2026, 1, 1))

    first = recurrences_run(now=at(2026, 3, 1), bound=50)

    assert (first.created, first.held) == (50, 1)
    assert made(source)[0] == date(2026, 1, 2)
    assert made(source)[-1] == date(2026, 2, 20)
    held = Activity.objects.get(task=source, verb=V.RECURRENCE_HELD)
    assert held.actor is None
    assert held.new_value == {
        "made": 50,
        "first": "2026-01-02",
        "last": "2026-02-20",
        "bound": 50,
        "next_on": "2026-02-21",
    }
    assert "50 occurrences made, the most one run makes; the rest, from 2026-02-21, follow" in caplog.text

    second = recurrences_run(now=at(2026, 3, 1, 12, 15), bound=50)
    third = recurrences_run(now=at(2026, 3, 1, 12, 30), bound=50)

    assert (second.created, second.held, third.created) == (9, 0, 0)
    assert len(made(source)) == 59 == len(set(made(source)))
    assert made(source)[-1] == date(2026, 3, 1)
    assert Occurrence.objects.filter(recurrence__task=source).count() == 59


@pytest.mark.django_db
def test_an_occurrence_copies_the_task_stamps_its_stages_and_tells_the_assignee(team):
    _, people, project = team
    label = LabelFactory(team=project.team, name="garden")
    source = source_task(project, people, due=date(2026, 6, 1), assignee=people["mia"], priority=3)
    source.labels.set([label])
    StageFactory(task=source, order=1, name="Fill the can", estimated_hours=Decimal("0.5"))
    done = StageFactory(task=source, order=2, name="Water", estimated_hours=Decimal("1"))
    Stage.objects.filter(pk=done.pk).update(
        status=Status.COMPLETED, actual_hours=Decimal("2"), completed_at=at(2026, 6, 1)
    )
    rule = "FREQ=WEEKLY;BYDAY=MO"
    services.recurrence_set(actor=people["olga"], task=source, rule=rule, now=at(2026, 6, 1))

    recurrences_run(now=at(2026, 6, 8, 6))

    occurrence = Task.objects.get(occurrence__recurrence__task=source)
    assert (occurrence.title, occurrence.priority, occurrence.assignee, occurrence.created_by) == (
        "Water the plants",
        3,
        people["mia"],
        people["olga"],
    )
    assert (occurrence.due_date, occurrence.status) == (date(2026, 6, 8), Status.PENDING)
    assert list(occurrence.labels.all()) == [label]
    assert list(occurrence.stages.values_list("order", "name", "estimated_hours", "actual_hours", "status")) == [
        (1, "Fill the can", Decimal("0.50"), None, Status.PENDING),
        (2, "Water", Decimal("1.00"), None, Status.PENDING),
    ]
    assert list(occurrence.activities.values_list("actor", "verb", "new_value")) == [
        (
            None,
            V.CREATED,
            {
                "title": "Water the plants",
                "stages": 2,
                "series": source.pk,
                "recurrence": source.recurrence.pk,
                "occurrence": "2026-06-08",
                "rule": rule,
                "starts_on": source.recurrence.starts_on.isoformat(),
            },
        ),
        (None, V.ASSIGNED, people["mia"].pk),
    ]
    assert Occurrence.objects.get(task=occurrence).on_date == date(2026, 6, 8)
    notice = Notification.objects.get(user=people["mia"], task=occurrence)
    assert notice.message == "“Water the plants” repeats: the one due 8 Jun 2026 is assigned to you"
    assert OutboxEmail.objects.filter(task=occurrence, recipient="mia@acme.test").count() == 1


@pytest.mark.django_db
def test_a_template_stamps_the_stages_and_a_former_member_is_not_given_the_occurrence(team):
    _, people, project = team
    template = TemplateFactory(team=project.team, name="Plants")
    TemplateStageFactory(template=template, order=1, name="Check soil", estimated_hours=Decimal("0.25"))
    source = source_task(project, people, due=date(2026, 6, 1), assignee=people["mia"], template=template)
    StageFactory(task=source, order=1, name="Renamed on the task", estimated_hours=Decimal("3"))
    services.recurrence_set(actor=people["olga"], task=source, rule="FREQ=DAILY", now=at(2026, 6, 1))
    Membership.objects.filter(user=people["mia"]).delete()

    recurrences_run(now=at(2026, 6, 2))

    occurrence = Task.objects.get(occurrence__recurrence__task=source)
    assert occurrence.assignee is None
    assert list(occurrence.stages.values_list("name", "estimated_hours")) == [("Check soil", Decimal("0.25"))]
    assert not Notification.objects.filter(task=occurrence).exists()


@pytest.mark.django_db
def test_changing_the_rule_changes_only_dates_not_made_and_stopping_ends_them(team):
    _, people, project = team
    source = source_task(project, people, due=date(2026, 6, 1))  # a Monday
    services.recurrence_set(actor=people["olga"], task=source, rule="FREQ=DAILY", now=at(2026, 6, 1))
    recurrences_run(now=at(2026, 6, 3))  # the 2nd and the 3rd
    first_two = list(Task.objects.filter(occurrence__recurrence__task=source).order_by("pk"))

    services.recurrence_set(
        actor=people["olga"],
        task=source,
        rule="FREQ=WEEKLY;BYDAY=MO,TH",
        starts_on=date(2026, 6, 1),
        now=at(2026, 6, 3),
    )
    assert Recurrence.objects.get(task=source).next_on == date(2026, 6, 4)
    recurrences_run(now=at(2026, 6, 9))  # Thursday the 4th, Monday the 8th

    assert made(source) == [date(2026, 6, 2), date(2026, 6, 3), date(2026, 6, 4), date(2026, 6, 8)]
    assert list(Occurrence.objects.filter(recurrence__task=source).values_list("rule", flat=True)) == [
        "FREQ=DAILY",
        "FREQ=DAILY",
        "FREQ=WEEKLY;BYDAY=MO,TH",
        "FREQ=WEEKLY;BYDAY=MO,TH",
    ]
    assert [t.updated_at for t in first_two] == [
        t.updated_at for t in Task.objects.filter(pk__in=[t.pk for t in first_two]).order_by("pk")
    ]

    services.recurrence_stop(actor=people["mia"], task=source)
    recurrences_run(now=at(2026, 7, 1))

    assert len(made(source)) == 4
    assert list(source.activities.values_list("actor", "verb", "old_value", "new_value")) == [
        (
            people["olga"].pk,
            V.RECURRENCE_SET,
            None,
            {"rule": "FREQ=DAILY", "starts_on": "2026-06-01", "summary": "Every day", "next_on": "2026-06-02"},
        ),
        (
            people["olga"].pk,
            V.RECURRENCE_SET,
            {"rule": "FREQ=DAILY", "starts_on": "2026-06-01"},
            {
                "rule": "FREQ=WEEKLY;BYDAY=MO,TH",
                "starts_on": "2026-06-01",
                "summary": "Every week on Mon, Thu",
                "next_on": "2026-06-04",
            },
        ),
        (people["mia"].pk, V.RECURRENCE_STOPPED, {"rule": "FREQ=WEEKLY;BYDAY=MO,TH", "starts_on": "2026-06-01"}, None),
    ]


@pytest.mark.django_db
def test_a_count_includes_the_task_itself_and_a_trashed_source_makes_nothing(team):
    _, people, project = team
    counted = source_task(project, people, due=date(2026, 6, 1))
    trashed = source_task(project, people, due=date(2026, 6, 1))
    services.recurrence_set(actor=people["olga"], task=counted, rule="FREQ=DAILY;COUNT=3", now=at(2026, 6, 1))
    services.recurrence_set(actor=people["olga"], task=trashed, rule="FREQ=DAILY", now=at(2026, 6, 1))
    services.task_delete(actor=people["olga"], task=trashed)

    recurrences_run(now=at(2026, 6, 10))

    assert made(counted) == [date(2026, 6, 2), date(2026, 6, 3)]
    assert Recurrence.objects.get(task=counted).next_on is None
    assert made(trashed) == []


@pytest.mark.django_db
def test_the_services_refuse_bad_rules_viewers_and_rules_that_give_nothing(team):
    _, people, project = team
    source = source_task(project, people, due=date(2026, 6, 1))
    cases = [
        ("FREQ=SECONDLY", "FREQ=SECONDLY is not supported"),
        ("FREQ=DAILY;UNTIL=20260501", "The rule ends before it starts."),
        ("FREQ=DAILY;COUNT=1", "This rule gives no date after today and the task's due date: nothing would repeat."),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "This rule gives no date from its start"),
    ]
    for rule, message in cases:
        with pytest.raises(ValidationError) as exc:
            services.recurrence_set(actor=people["olga"], task=source, rule=rule, now=at(2026, 6, 1))
        assert exc.value.message_dict["rule"][0].startswith(message)
    with pytest.raises(PermissionDenied):
        services.recurrence_set(actor=people["vic"], task=source, rule="FREQ=DAILY", now=at(2026, 6, 1))
    with pytest.raises(PermissionDenied):
        services.recurrence_stop(actor=people["vic"], task=source)

    assert not Recurrence.objects.exists()
    assert not Activity.objects.exists()


@pytest.mark.django_db
def test_a_broken_series_stops_no_other_in_its_chunk_or_the_next(team, caplog):
    """Series are made many to a transaction; a series whose stored rule cannot be read rolls its chunk back,
    and the chunk is made again series by series: every other series gets its occurrence, the broken one none."""
    _, people, project = team
    sources = [source_task(project, people, due=date(2026, 6, 1), assignee=people["mia"]) for _ in range(5)]
    for source in sources:
        services.recurrence_set(actor=people["olga"], task=source, rule="FREQ=DAILY", now=at(2026, 6, 1))
    Recurrence.objects.filter(task=sources[1]).update(rule="FREQ=SOMETIMES")  # written past the service

    run = recurrences_run(now=at(2026, 6, 2, 6), chunk=2)

    assert (run.series, run.created, run.failed) == (5, 4, 1)
    assert [len(made(s)) for s in sources] == [1, 0, 1, 1, 1]
    assert not Occurrence.objects.filter(recurrence__task=sources[1]).exists()
    assert Recurrence.objects.get(task=sources[1]).next_on == date(2026, 6, 2)  # tried again by the next run
    assert Notification.objects.filter(user=people["mia"]).count() == 4
    assert f"recurrence of task {sources[1].pk} failed" in caplog.text
