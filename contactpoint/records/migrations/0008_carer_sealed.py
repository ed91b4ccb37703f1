"""Carers' names and contact details sealed under each child's data key (docs/adr/0010-retention.md).

As 0006 and 0007: existing rows sealed here in records.sealed's layout (a JSON list of the
fields below; the table and row id as associated data), spelled out so this migration keeps its
meaning; backwards opens them again.
"""

import json

from django.db import migrations, models

TABLE = "records_carer"
FIELDS = ("given_name", "family_name", "phone", "email", "address_line_1", "town", "postcode")
CHUNK = 2000


def _ciphers(child_ids):
    from contactpoint.records.sealed import ciphers_for

    return ciphers_for(child_ids)


def seal(apps, schema_editor):
    from contactpoint.retention.crypto import value_seal

    model = apps.get_model("records", "Carer")
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

    model = apps.get_model("records", "Carer")
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
    dependencies = [("records", "0007_childname_sealed")]

    operations = [
        migrations.AddField(
            model_name="carer",
            name="sealed_values",
            field=models.BinaryField(blank=True, default=b"", editable=False),
            preserve_default=False,
        ),
        migrations.RunPython(seal, unseal),
        # So that backwards the column comes back empty, to be filled by `unseal`.
        migrations.AlterField(model_name="carer", name="family_name", field=models.CharField(blank=True, max_length=100)),
        *(migrations.RemoveField(model_name="carer", name=field) for field in FIELDS),
    ]
