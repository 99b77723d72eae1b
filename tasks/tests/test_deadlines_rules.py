"""tasks/deadlines.py: its SQL conditions select exactly the rows its per-row predicates accept, at any instant
and in any mix of time zones (including across a change of clocks, where "24 hours later" is not always the
next day)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from accounts.tests.factories import TeamFactory
from tasks.deadlines import deadlines_at
from tasks.models import Status, Task
from tasks.tests.factories import ProjectFactory, TaskFactory

pytestmark = pytest.mark.django_db

ZONES = ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/London", "America/New_York", "Asia/Kolkata"]
# London's clocks go forward at 01:00 UTC on 30 March 2025; instants every 5 hours around it.
INSTANTS = [datetime(2025, 3, 29, 0, 30, tzinfo=UTC) + timedelta(hours=5 * i) for i in range(8)]


@pytest.fixture
def tasks():
    for zone in ZONES:
        project = ProjectFactory(team=TeamFactory(time_zone=zone))
        for day in range(25, 35):
            TaskFactory(project=project, due_date=date(2025, 3, 1) + timedelta(days=day))
        TaskFactory(project=project, due_date=date(2025, 3, 20), status=Status.COMPLETED, completed_at=INSTANTS[0])
        TaskFactory(project=project, due_date=None)
    return list(Task.objects.select_related("project__team"))


@pytest.mark.parametrize("hours", [24, 0, 60])
@pytest.mark.parametrize("now", INSTANTS, ids=[i.isoformat() for i in INSTANTS])
def test_the_conditions_match_the_predicates(tasks, now, hours):
    rules = deadlines_at(now, soon_hours=hours)

    overdue = set(Task.objects.filter(rules.overdue()).values_list("pk", flat=True))
    soon = set(Task.objects.filter(rules.due_soon()).values_list("pk", flat=True))
    later = set(Task.objects.filter(rules.later()).values_list("pk", flat=True))

    assert overdue == {t.pk for t in tasks if rules.is_overdue(t)}
    assert soon == {t.pk for t in tasks if rules.is_due_soon(t)}
    dated_open = {t.pk for t in tasks if t.due_date is not None and t.status != Status.COMPLETED}
    assert later == dated_open - overdue - soon
    assert not (overdue & soon)
    # Excluding is the complement, undated and completed tasks included.
    assert set(Task.objects.exclude(rules.overdue()).values_list("pk", flat=True)) == {t.pk for t in tasks} - overdue


def test_the_zone_is_looked_at_only_when_the_teams_are_on_different_days():
    noon = datetime(2025, 3, 29, 12, 0, tzinfo=UTC)  # 30 March already in Kiritimati
    same_day = deadlines_at(noon, zones=["UTC", "Europe/London"])
    assert "time_zone" not in str(Task.objects.filter(same_day.overdue()).query)
    two_days = deadlines_at(noon, zones=["UTC", "Pacific/Kiritimati"])
    assert "time_zone" in str(Task.objects.filter(two_days.overdue()).query)
