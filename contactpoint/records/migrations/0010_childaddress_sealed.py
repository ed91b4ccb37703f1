"""Children's address lines, town and postcode sealed under each child's data key
(docs/adr/0010-retention.md).

As 0006-0009: existing rows sealed here in records.sealed's layout (a JSON list of the fields
below; the table and row id as associated data), spelled out so this migration keeps its
meaning; backwards opens them again. The two database checks that read the lines (none with no
fixed address, a first line or postcode for a known one) become validation
(`ChildAddress.clear_parts`); backwards they return once the lines are open.
"""

import json

from django.db import migrations, models

TABLE = "records_childaddress"
FIELDS = ("address_line_1", "address_line_2", "town", "postcode")
CHUNK = 2000


def _ciphers(child_ids):
    from contactpoint.records.sealed import ciphers_for

    return ciphers_for(child_ids)


def seal(apps, schema_editor):
    from contactpoint.retention.crypto import value_seal

    model = apps.get_model("records", "ChildAddress")
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

    model = apps.get_model("records", "ChildAddress")
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
    dependencies = [("records", "0009_childidentifier_sealed")]

    operations = [
        migrations.AddField(
            model_name="childaddress",
            name="sealed_values",
            field=models.BinaryField(blank=True, default=b"", editable=False),
            preserve_default=False,
        ),
        migrations.RemoveConstraint(
            model_name="childaddress", name="childaddress_no_fixed_address_has_no_address"
        ),
        migrations.RemoveConstraint(model_name="childaddress", name="childaddress_known_address_has_lines"),
        migrations.RunPython(seal, unseal),  # backwards: lines opened, then the checks come back
        *(migrations.RemoveField(model_name="childaddress", name=field) for field in FIELDS),
    ]

