"""Birth dates sealed under each child's data key (docs/adr/0010-retention.md).

Existing rows are sealed here, on both databases, in the layout records.sealed writes (a JSON
list, the table and row id as associated data), spelled out so that this migration keeps its
meaning whatever the code does later. Backwards opens them again.
"""

import datetime
import json

from django.db import migrations, models

TABLE = "records_childbirthdate"
CHUNK = 2000


def _aad(pk: int) -> str:
    return f"{TABLE}:{pk}"


def _ciphers(child_ids):
    from contactpoint.records.sealed import ciphers_for

    return ciphers_for(child_ids)


def seal(apps, schema_editor):
    from contactpoint.retention.crypto import value_seal

    model = apps.get_model("records", "ChildBirthDate")
    last = 0
    while rows := list(model.objects.filter(pk__gt=last).order_by("pk")[:CHUNK]):
        ciphers = _ciphers(r.child_id for r in rows)
        for row in rows:
            plain = json.dumps([row.date_of_birth.isoformat()], separators=(",", ":"))
            row.sealed_values = value_seal(ciphers[row.child_id], plain, context=_aad(row.pk))
            row.year_of_birth = row.date_of_birth.year
        model.objects.bulk_update(rows, ["sealed_values", "year_of_birth"])
        last = rows[-1].pk


def unseal(apps, schema_editor):
    from contactpoint.retention.crypto import value_open

    model = apps.get_model("records", "ChildBirthDate")
    last = 0
    while rows := list(model.objects.filter(pk__gt=last).order_by("pk")[:CHUNK]):
        ciphers = _ciphers(r.child_id for r in rows)
        for row in rows:
            (born,) = json.loads(value_open(ciphers[row.child_id], bytes(row.sealed_values), context=_aad(row.pk)))
            row.date_of_birth = datetime.date.fromisoformat(born)
        model.objects.bulk_update(rows, ["date_of_birth"])
        last = rows[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0005_fold_api_involvements"),
        ("retention", "0004_consent_evidence_death_source"),
    ]

    operations = [
        migrations.AddField(
            model_name="childbirthdate",
            name="sealed_values",
            field=models.BinaryField(blank=True, default=b"", editable=False),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="childbirthdate",
            name="year_of_birth",
            field=models.PositiveSmallIntegerField(null=True),
        ),
        migrations.AlterField(
            model_name="childbirthdate",
            name="date_of_birth",
            field=models.DateField(null=True),
        ),
        migrations.RunPython(seal, unseal),
        migrations.RemoveField(model_name="childbirthdate", name="date_of_birth"),
        migrations.AlterField(
            model_name="childbirthdate",
            name="year_of_birth",
            field=models.PositiveSmallIntegerField(),
        ),
    ]
