"""Full-text search columns and their GIN indexes, on PostgreSQL only.

`search_vector` of tasks_task (title weighted A, description B) and of tasks_comment (body) are GENERATED
ALWAYS ... STORED columns: the database computes them on every insert and update, so no service, bulk load
or admin edit can forget them (no second writer). They are not model fields: the ORM never reads or writes
them (no tsvector fetched with every task), and tasks.selectors.search_tasks is the one place that queries
them. SQLite (the embedded default) gets neither; search falls back to icontains there.

Note for later migrations: PostgreSQL refuses to change the type of a column a generated column uses, so an
AlterField of Task.title/description or Comment.body must drop and re-add the column (reverse this first).
"""

from django.db import migrations

FORWARD = [
    """ALTER TABLE tasks_task ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
           setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
           || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')
       ) STORED""",
    "CREATE INDEX task_search_vector ON tasks_task USING gin (search_vector)",
    """ALTER TABLE tasks_comment ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
           to_tsvector('english'::regconfig, coalesce(body, ''))
       ) STORED""",
    "CREATE INDEX comment_search_vector ON tasks_comment USING gin (search_vector)",
]
BACKWARD = [
    "ALTER TABLE tasks_comment DROP COLUMN IF EXISTS search_vector",
    "ALTER TABLE tasks_task DROP COLUMN IF EXISTS search_vector",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("tasks", "0003_my_work_and_board_indexes")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False)]
