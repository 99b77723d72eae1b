"""The command palette's reads (⌘K / Ctrl-K, the top bar's box): tasks, projects and people whose words start
with what is typed, from the first character, and the commands that match. Scoped to the user like every
selector: only their teams' projects, live tasks and fellow members.

`prefix_tsquery` is the one place typed text becomes a prefix query. It keeps only runs of letters and digits
(quotes, operators, backslashes, NUL bytes and the rest are separators), so any input, of any length, gives a
well-formed query or none: an input of operators only (`& | ! ( ) :*`) has no word and finds nothing, never an
error. The words reach PostgreSQL as parameters, never as SQL text.

The last word (the one being typed) matches a lexeme starting with it, as typed and as its English stem
("invoices" finds "invoice"), and, for a word typed half-way past its stem ("deployi" on the way to
"deploying", whose lexeme is "deploy"), the lexemes equal to its last few shorter prefixes; so results do not
vanish mid-word. The words before it are whole words (as typed or stemmed): a prefix costs the GIN index a
scan of every lexeme it starts (25 ms for one at a million tasks), a whole word one entry.

Cost, bounded whatever the word (docs/performance.md, "Command palette"): PostgreSQL cannot estimate a prefix
term (it took the primary-key walk for a word in no task: 1.3 s at a million tasks), so the plan is chosen
here. First the newest PROBE_ROWS tasks are tested (a short backward walk of the primary key); a word common
enough to fill the palette there is done. Otherwise the word is rare and the GIN index finds its few matches
(a bitmap scan, forced for that query only). Comments the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse

from accounts.permissions import Action, can, team_ids_visible_to
from accounts.selectors import fellow_members

from .models import Comment, Project, Task
from .templatetags.task_text import plain_text

MAX_INPUT = 200
MAX_WORDS = 6
MAX_WORD = 40
TASKS_SHOWN = 8
PROJECTS_SHOWN = 5
PEOPLE_SHOWN = 5
CANDIDATES = 40  # matches ranked for the tasks shown
PROBE_ROWS = 4000  # the newest rows tested before the index is asked

_WORD = re.compile(r"[^\W_]+")


def palette_words(text: str | None) -> list[str]:
    """The words of typed text: runs of letters and digits, lower-cased, at most MAX_WORDS of MAX_WORD each."""
    return [w[:MAX_WORD] for w in _WORD.findall((text or "")[:MAX_INPUT].lower())][:MAX_WORDS]


def _quoted(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def prefix_tsquery(text: str | None) -> str | None:
    """The tsquery text of `text`: every word required; the last one (being typed) as a prefix, the others
    whole; each as typed and as its English stem. None for text without a word. One query (the stems; the
    words are a parameter), and the text is built here from letters and digits only, each lexeme quoted."""
    words = palette_words(text)
    if not words:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ts_lexize('english_stem', w) FROM unnest(%s::text[]) WITH ORDINALITY AS u(w, n) ORDER BY n", [words]
        )
        stems = [(row[0] or [None])[0] for row in cursor.fetchall()]
    parts = []
    for i, (word, stem) in enumerate(zip(words, stems, strict=True)):
        forms = list(dict.fromkeys(f for f in (word, stem) if f))
        if i < len(words) - 1:
            if stem is None:
                continue  # a stop word ("the"): never in the stored text
            terms = [_quoted(f) for f in forms]
        else:
            # A word typed past its stem ("deployi" of "deploying", stored as "deploy"): its shorter prefixes, whole.
            shorter = [word[:n] for n in range(len(word) - 1, max(2, len(word) - 4), -1)] if len(word) >= 5 else []
            terms = [_quoted(f) + ":*" for f in forms] + [_quoted(f) for f in shorter if f not in forms]
        parts.append("(" + " | ".join(terms) + ")")
    return " & ".join(parts)


# The newest PROBE_ROWS rows, then those that match (a bounded walk of the primary key).
_PROBE = {
    "task": """SELECT id FROM (SELECT id, project_id, deleted_at, search_vector FROM tasks_task
                 ORDER BY id DESC LIMIT %s) newest
               WHERE search_vector @@ %s::tsquery AND deleted_at IS NULL AND project_id = ANY(%s) LIMIT %s""",
    "comment": """SELECT c.id FROM (SELECT id, task_id, search_vector FROM tasks_comment
                    ORDER BY id DESC LIMIT %s) c JOIN tasks_task t ON t.id = c.task_id
                  WHERE c.search_vector @@ %s::tsquery AND t.deleted_at IS NULL AND t.project_id = ANY(%s) LIMIT %s""",
}
# Every match through the GIN index (a rare word: few matches), newest first. "id + 0": not the primary key's
# order, which PostgreSQL would walk whole for a word it wrongly thinks common.
_INDEXED = {
    "task": """SELECT id FROM tasks_task WHERE search_vector @@ %s::tsquery AND deleted_at IS NULL
               AND project_id = ANY(%s) ORDER BY id + 0 DESC LIMIT %s""",
    "comment": """SELECT c.id FROM tasks_comment c JOIN tasks_task t ON t.id = c.task_id
                  WHERE c.search_vector @@ %s::tsquery AND t.deleted_at IS NULL AND t.project_id = ANY(%s)
                  ORDER BY c.id + 0 DESC LIMIT %s""",
}


def _matching_ids(kind: str, query: str, project_ids: list[int], limit: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(_PROBE[kind], [PROBE_ROWS, query, project_ids, limit])
        found = [pk for (pk,) in cursor.fetchall()]
        if len(found) >= TASKS_SHOWN:
            return found
        with transaction.atomic():  # SET LOCAL lasts until the end of this block
            cursor.execute("SET LOCAL enable_seqscan = off")  # the GIN index, even for a word it thinks common
            cursor.execute(_INDEXED[kind], [query, project_ids, limit])
            return [pk for (pk,) in cursor.fetchall()]


@dataclass
class Hit:
    """One row of the palette: what it is, where it goes, its words and a plain-text passage."""

    kind: str  # "task", "project", "person", "action"
    url: str
    title: str
    detail: str = ""
    snippet: str = ""
    in_comment: bool = False


@dataclass
class Palette:
    words: list[str]
    tasks: list[Hit] = field(default_factory=list)
    projects: list[Hit] = field(default_factory=list)
    people: list[Hit] = field(default_factory=list)
    actions: list[Hit] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.tasks) + len(self.projects) + len(self.people) + len(self.actions)

    @property
    def empty(self) -> bool:
        return self.count == 0


def _starts_a_word(words: list[str], *fields: str) -> Q:
    """Each word starts the value, or a word of it, in one of `fields` (Django escapes LIKE's wildcards; the
    words have none anyway: letters and digits only)."""
    condition = Q()
    for word in words:
        either = Q()
        for name in fields:
            either |= Q(**{f"{name}__istartswith": word}) | Q(**{f"{name}__icontains": f" {word}"})
        condition &= either
    return condition


def _task_hits(user, words: list[str], query: str, project_ids: list[int]) -> list[Hit]:
    task_ids = _matching_ids("task", query, project_ids, CANDIDATES)
    comment_ids = _matching_ids("comment", query, project_ids, CANDIDATES)
    comments: dict[int, str] = {}
    for task_id, body in Comment.objects.filter(pk__in=comment_ids).order_by("-id").values_list("task_id", "body"):
        comments.setdefault(task_id, body)
    ids = list(dict.fromkeys([*task_ids, *comments]))
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, ts_rank(search_vector, %s::tsquery) FROM tasks_task WHERE id = ANY(%s)", [query, ids]
        )
        rank = dict(cursor.fetchall())
    tasks = Task.objects.filter(pk__in=ids).select_related("project").only("title", "description", "project__name")
    # A match in the title or description first, by rank (the title weighs more), the newest first among equals.
    best = sorted(tasks, key=lambda t: (t.pk not in task_ids, -(rank.get(t.pk) or 0), -t.pk))
    hits = []
    detail_url = reverse("tasks:task_detail", args=[0]).removesuffix("0/")
    for task in best[:TASKS_SHOWN]:
        in_comment = task.pk not in task_ids
        source = comments.get(task.pk, "") if in_comment else task.description
        hits.append(
            Hit(
                kind="task",
                url=f"{detail_url}{task.pk}/",
                title=task.title,
                detail=task.project.name,
                snippet=plain_text(source),
                in_comment=in_comment,
            )
        )
    return hits


def _actions(user, words: list[str], projects: list[Project], here: Project | None) -> list[Hit]:
    """The commands whose names start with the words typed (all of them for an empty box)."""
    commands = [
        Hit("action", reverse("tasks:my_work"), "My work", "Go to"),
        Hit("action", reverse("tasks:calendar"), "Calendar", "Go to"),
        Hit("action", reverse("analytics:dashboard"), "Dashboard", "Go to"),
        Hit("action", reverse("tasks:project_list"), "Projects", "Go to"),
    ]
    workable = [p for p in projects if can(user, Action.WORK, p.team_id)]
    if here is not None and here in workable:
        workable = [here, *[p for p in workable if p != here]]
    for project in workable[:PROJECTS_SHOWN]:
        commands.insert(0, Hit("action", reverse("tasks:task_create", args=[project.pk]), "New task", project.name))
    if not words:
        return commands
    typed = " ".join(words)
    found = []
    for hit in commands:
        name = f"{hit.title} {hit.detail}".lower()
        name_words = _WORD.findall(name)
        if name.startswith(typed) or all(any(n.startswith(w) for n in name_words) for w in words):
            found.append(hit)
    return found


def palette(user, text: str | None, *, here: Project | None = None) -> Palette:
    """What the palette shows for `text` typed by `user` (`here`: the project of the page, first for "New
    task"). At most 8 tasks, 5 projects, 5 people and the matching commands; a few milliseconds of queries."""
    words = palette_words(text)
    result = Palette(words=words)
    projects = list(
        Project.objects.filter(team__in=team_ids_visible_to(user)).select_related("team").order_by("name", "pk")
    )
    if not words and (text or "").strip():
        return result  # typed, but no word in it (only operators, quotes, symbols): nothing found
    result.actions = _actions(user, words, projects, here)
    if not words:
        return result
    project_ids = [p.pk for p in projects]
    query = prefix_tsquery(text)
    if query and project_ids:
        result.tasks = _task_hits(user, words, query, project_ids)
    named = [p for p in projects if all(any(n.startswith(w) for n in _WORD.findall(p.name.lower())) for w in words)]
    result.projects = [
        Hit("project", reverse("tasks:board", args=[p.pk]), p.name, p.team.name) for p in named[:PROJECTS_SHOWN]
    ]
    members = fellow_members(user).filter(_starts_a_word(words, "user__full_name", "user__email"))
    seen: set[int] = set()
    for m in members[: PEOPLE_SHOWN * 3]:
        if m.user_id in seen or len(result.people) >= PEOPLE_SHOWN:
            continue
        seen.add(m.user_id)
        url = reverse("accounts:team_detail", args=[m.team_id]) + f"#member-{m.user_id}"
        result.people.append(Hit("person", url, m.user.get_full_name(), m.user.email))
    return result
