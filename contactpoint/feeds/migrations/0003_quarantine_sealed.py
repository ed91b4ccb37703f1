"""Quarantined rows' cells and warnings, and data-quality warnings' messages, sealed under a key
per row (docs/adr/0010-retention.md, "Quarantined rows and warnings").

Existing rows are sealed here in feeds.sealed's layout, spelled out so this migration keeps its
meaning: a random 256-bit key per row, wrapped by the newest data KEK with a random key id as
associated data; the fields below as one JSON object sealed with AES-256-GCM under it, with
"<table>:<id>" as associated data. A quarantined row's organisation codes are copied out of its
cells, clear. Backwards opens them again.
"""

import json
import secrets
import uuid

from django.db import migrations, models

CHUNK = 2000
# model -> its fields sealed, in the blob's JSON object
SEALED = {"QuarantinedRow": ("values", "warnings"), "DataQualityWarning": ("message",)}
ORGANISATION = ("school_urn", "gp_practice_code", "organisation_code")


def _rows(apps, name):
    model = apps.get_model("feeds", name)
    last = 0
    while rows := list(model.objects.filter(pk__gt=last).order_by("pk")[:CHUNK]):
        yield model, rows
        last = rows[-1].pk


def seal(apps, schema_editor):
    from contactpoint.retention.crypto import key_wrap, value_seal

    for name, fields in SEALED.items():
        for model, rows in _rows(apps, name):
            for row in rows:
                key, row.key_id = secrets.token_bytes(32), uuid.uuid4().hex
                row.key_wrapped, row.kek_id = key_wrap(key, key_id=row.key_id)
                plain = json.dumps({f: getattr(row, f) for f in fields}, separators=(",", ":"))
                row.sealed = value_seal(key, plain, context=f"{model._meta.db_table}:{row.pk}")
                if name == "QuarantinedRow":
                    row.organisation_codes = {c: row.values[c] for c in ORGANISATION if row.values.get(c)}
            model.objects.bulk_update(rows, ["sealed", "key_wrapped", "key_id", "kek_id"]
                                      + (["organisation_codes"] if name == "QuarantinedRow" else []))


def unseal(apps, schema_editor):
    from contactpoint.retention.crypto import key_unwrap, value_open

    for name, fields in SEALED.items():
        for model, rows in _rows(apps, name):
            for row in rows:
                key = key_unwrap(bytes(row.key_wrapped), key_id=row.key_id, kek_id=row.kek_id)
                opened = json.loads(
                    value_open(key, bytes(row.sealed), context=f"{model._meta.db_table}:{row.pk}")
                )
                for field in fields:
                    setattr(row, field, opened[field])
            model.objects.bulk_update(rows, list(fields))


def _key_fields(model_name):
    return [
        migrations.AddField(
            model_name=model_name, name="sealed", field=models.BinaryField(editable=False, null=True)
        ),
        migrations.AddField(
            model_name=model_name, name="key_wrapped", field=models.BinaryField(editable=False, null=True)
        ),
        migrations.AddField(
            model_name=model_name,
            name="key_id",
            field=models.CharField(default="", editable=False, max_length=32),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name=model_name,
            name="kek_id",
            field=models.CharField(default="", editable=False, max_length=16),
            preserve_default=False,
        ),
    ]


def _not_null(model_name):
    return [
        migrations.AlterField(model_name=model_name, name=name, field=models.BinaryField(editable=False))
        for name in ("sealed", "key_wrapped")
    ]


class Migration(migrations.Migration):
    dependencies = [("feeds", "0002_feed_batches")]

    operations = [
        *_key_fields("quarantinedrow"),
        *_key_fields("dataqualitywarning"),
        migrations.AddField(
            model_name="quarantinedrow",
            name="organisation_codes",
            field=models.JSONField(default=dict, help_text="Column -> organisation code the row names."),
        ),
        migrations.RunPython(seal, unseal),
        *_not_null("quarantinedrow"),
        *_not_null("dataqualitywarning"),
        # So that backwards the columns come back with a value, to be filled by `unseal`.
        migrations.AlterField(model_name="quarantinedrow", name="values", field=models.JSONField(default=dict)),
        migrations.AlterField(
            model_name="dataqualitywarning", name="message", field=models.CharField(default="", max_length=300)
        ),
        migrations.RemoveField(model_name="quarantinedrow", name="values"),
        migrations.RemoveField(model_name="quarantinedrow", name="warnings"),
        migrations.RemoveField(model_name="dataqualitywarning", name="message"),
    ]
