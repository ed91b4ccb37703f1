"""Fewer index entries per audit event: every view and search writes one (docs/benchmarks.md).

- `audit_by_type` (every event) becomes `audit_rare_by_type`: the kinds other than views and
  searches, which the break-glass and export reports list by period.
- Misuse rules read a period's views and searches: a BRIN index on occurred_at answers that for
  almost nothing per insert, since events arrive in time order (PostgreSQL only).
- The GIN index on details->'returned_ids' covers searches only, the only events that have them.

On PostgreSQL the new indexes are built, and the old dropped, CONCURRENTLY (the migration is not
atomic), so a large log keeps taking events while this runs; reports stay indexed throughout
because each replacement exists before what it replaces is dropped. Run it as the tables' owner
(docs/audit.md). If it is interrupted, a half-built index is left INVALID under its name and
IF NOT EXISTS would keep it: drop such an index (psql's \\d marks it INVALID) and migrate again.
"""

from django.db import migrations, models

POSTGRES_FORWARD = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_rare_by_type ON audit_auditevent "
    "(event_type, occurred_at) WHERE NOT (event_type IN ('view', 'search'))",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_event_occurred_brin ON audit_auditevent "
    "USING brin (occurred_at)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_event_search_returned_gin ON audit_auditevent "
    "USING gin ((details -> 'returned_ids') jsonb_path_ops) WHERE event_type = 'search'",
    "DROP INDEX CONCURRENTLY IF EXISTS audit_by_type",
    "DROP INDEX CONCURRENTLY IF EXISTS audit_event_returned_ids_gin",
)
POSTGRES_BACKWARD = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_by_type ON audit_auditevent (event_type, occurred_at)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_event_returned_ids_gin ON audit_auditevent "
    "USING gin ((details -> 'returned_ids') jsonb_path_ops)",
    "DROP INDEX CONCURRENTLY IF EXISTS audit_rare_by_type",
    "DROP INDEX CONCURRENTLY IF EXISTS audit_event_occurred_brin",
    "DROP INDEX CONCURRENTLY IF EXISTS audit_event_search_returned_gin",
)
BY_TYPE = models.Index(fields=["event_type", "occurred_at"], name="audit_by_type")
RARE_BY_TYPE = models.Index(
    condition=models.Q(("event_type__in", ["view", "search"]), _negated=True),
    fields=["event_type", "occurred_at"],
    name="audit_rare_by_type",
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_FORWARD:
            schema_editor.execute(statement)
        return
    event = apps.get_model("audit", "AuditEvent")
    schema_editor.add_index(event, RARE_BY_TYPE)
    schema_editor.remove_index(event, BY_TYPE)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_BACKWARD:
            schema_editor.execute(statement)
        return
    event = apps.get_model("audit", "AuditEvent")
    schema_editor.add_index(event, BY_TYPE)
    schema_editor.remove_index(event, RARE_BY_TYPE)


class Migration(migrations.Migration):
    atomic = False  # CREATE / DROP INDEX CONCURRENTLY cannot run in a transaction
    dependencies = [("audit", "0007_criteria_key")]
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forward, backward)],
            state_operations=[
                migrations.RemoveIndex(model_name="auditevent", name="audit_by_type"),
                migrations.AddIndex(model_name="auditevent", index=RARE_BY_TYPE),
            ],
        )
    ]
