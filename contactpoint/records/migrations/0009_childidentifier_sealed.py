"""Identifier values sealed under each child's data key, looked up by a blind key
(docs/adr/0010-retention.md).

As 0006-0008: existing values sealed here in records.sealed's layout (a JSON list holding the
value; the table and row id as associated data), and each row's blind key written: HMAC-SHA-256,
truncated to 16 bytes, of "i:<scheme>:<scheme name>:<value>" under the newest index key
(linkage.blind), both spelled out so this migration keeps its meaning. The database constraints
that read the value (NHS check digit, UPN shape, not empty) become validation; the one-live-
assertion constraint and the look-up index use the blind key. Backwards opens the values again.
"""

import json

from django.db import migrations, models
from django.db.models import Q

TABLE = "records_childidentifier"
CHUNK = 2000


def _ciphers(child_ids):
    from contactpoint.records.sealed import ciphers_for

    return ciphers_for(child_ids)


def seal(apps, schema_editor):
    from contactpoint.linkage.blind import blind, index_keys
    from contactpoint.retention.crypto import value_seal

    model = apps.get_model("records", "ChildIdentifier")
    last = 0
    while rows := list(model.objects.filter(pk__gt=last).order_by("pk")[:CHUNK]):
        index_key = index_keys(fresh=True)[0]  # only when there is a row: an empty database gets no key
        ciphers = _ciphers(r.child_id for r in rows)
        for row in rows:
            plain = json.dumps([row.value], separators=(",", ":"))
            row.sealed_values = value_seal(ciphers[row.child_id], plain, context=f"{TABLE}:{row.pk}")
            row.blind_value = blind(index_key, f"i:{row.scheme}:{row.scheme_name}:{row.value}")
        model.objects.bulk_update(rows, ["sealed_values", "blind_value"])
        last = rows[-1].pk


def unseal(apps, schema_editor):
    from contactpoint.retention.crypto import value_open

    model = apps.get_model("records", "ChildIdentifier")
    last = 0
    while rows := list(model.objects.filter(pk__gt=last).order_by("pk")[:CHUNK]):
        ciphers = _ciphers(r.child_id for r in rows)
        for row in rows:
            opened = value_open(ciphers[row.child_id], bytes(row.sealed_values), context=f"{TABLE}:{row.pk}")
            (row.value,) = json.loads(opened)
        model.objects.bulk_update(rows, ["value"])
        last = rows[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0008_carer_sealed"),
        ("linkage", "0003_blind_candidate_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="childidentifier",
            name="sealed_values",
            field=models.BinaryField(blank=True, default=b"", editable=False),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="childidentifier",
            name="blind_value",
            field=models.BinaryField(default=b"", editable=False, max_length=16),
            preserve_default=False,
        ),
        migrations.RemoveConstraint(model_name="childidentifier", name="childidentifier_nhs_number_mod11"),
        migrations.RemoveConstraint(model_name="childidentifier", name="childidentifier_upn_format"),
        migrations.RemoveConstraint(model_name="childidentifier", name="childidentifier_has_value"),
        migrations.RemoveConstraint(model_name="childidentifier", name="childidentifier_unique_assertion"),
        migrations.RemoveIndex(model_name="childidentifier", name="childidentifier_lookup"),
        migrations.RunPython(seal, unseal),
        # So that backwards the column comes back empty, to be filled by `unseal`.
        migrations.AlterField(model_name="childidentifier", name="value", field=models.CharField(blank=True, max_length=64)),
        migrations.RemoveField(model_name="childidentifier", name="value"),
        migrations.AddConstraint(
            model_name="childidentifier",
            constraint=models.UniqueConstraint(
                condition=Q(superseded_at__isnull=True),
                fields=("child", "scheme", "scheme_name", "blind_value", "source", "source_record_id"),
                name="childidentifier_unique_assertion",
            ),
        ),
        migrations.AddIndex(
            model_name="childidentifier",
            index=models.Index(fields=["blind_value"], name="childidentifier_lookup"),
        ),
    ]
