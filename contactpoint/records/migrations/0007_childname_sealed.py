"""Children's names sealed under each child's data key (docs/adr/0010-retention.md).

As 0006: existing rows are sealed here in records.sealed's layout (a JSON list of given, middle
and family names; the table and row id as associated data), spelled out so this migration keeps
its meaning; backwards opens them again. The check that a name is not empty moves to the model's
validation: the database can no longer see the names.
"""

import json

from django.db import migrations, models

TABLE = "records_childname"
FIELDS = ("given_name", "middle_names", "family_name")
CHUNK = 2000


def _ciphers(child_ids):
    from contactpoint.records.sealed import ciphers_for

    return ciphers_for(child_ids)


def seal(apps, schema_editor):
    from contactpoint.retention.crypto import value_seal

    model = apps.get_model("records", "ChildName")
    last = 0
    while rows := list(model.objects.filter(pk__gt=last).order_by("pk")[:CHUNK]):
        ciphers = _ciphers(r.child_id for r in rows)
        for row in rows:
            plain = json.dumps([getattr(row, f) for f in FIELDS], separators=(",", ":"))
            row.sealed_values = value_seal(ciphers[row.child_id], plain, context=f"{TABLE}:{row.pk}")
        model.objects.bulk_update(rows, ["sealed_values"])
        last = rows[-1].pk


def unseal(apps, schema_editor):
    from contactpoint.retention.crypto import value_open

    model = apps.get_model("records", "ChildName")
    last = 0
    while rows := list(model.objects.filter(pk__gt=last).order_by("pk")[:CHUNK]):
        ciphers = _ciphers(r.child_id for r in rows)
        for row in rows:
            opened = value_open(ciphers[row.child_id], bytes(row.sealed_values), context=f"{TABLE}:{row.pk}")
            for field, value in zip(FIELDS, json.loads(opened), strict=True):
                setattr(row, field, value)
        model.objects.bulk_update(rows, list(FIELDS))
        last = rows[-1].pk


class Migration(migrations.Migration):
    dependencies = [("records", "0006_childbirthdate_sealed")]

    operations = [
        migrations.AddField(
            model_name="childname",
            name="sealed_values",
            field=models.BinaryField(blank=True, default=b"", editable=False),
            preserve_default=False,
        ),
        # Before the names are opened into emptied columns backwards, the check comes back after.
        migrations.RemoveConstraint(model_name="childname", name="childname_not_empty"),
        migrations.RunPython(seal, unseal),
        *(migrations.RemoveField(model_name="childname", name=field) for field in FIELDS),
    ]
