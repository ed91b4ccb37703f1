"""PostgreSQL: GIN indexes so reports find a child's events by containment without a scan.

"Who viewed this child" looks in child_ids; "searches that returned this child" in
details->'returned_ids'. SQLite has no such index; its reports narrow by text and check exactly.
"""

from django.db import migrations

FORWARD = """
CREATE INDEX IF NOT EXISTS audit_event_child_ids_gin
    ON audit_auditevent USING gin (child_ids jsonb_path_ops);
CREATE INDEX IF NOT EXISTS audit_event_returned_ids_gin
    ON audit_auditevent USING gin ((details -> 'returned_ids') jsonb_path_ops);
"""
BACKWARD = """
DROP INDEX IF EXISTS audit_event_child_ids_gin;
DROP INDEX IF EXISTS audit_event_returned_ids_gin;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]
    operations = [migrations.RunPython(forward, backward)]
