"""Feed source records and their versions sealed (docs/adr/0010-retention.md, stage B).

Existing rows are sealed here on both databases in records.sealed's layout, spelled out so this
migration keeps its meaning: a record's blob is a JSON list of FIELDS (the birth date as ISO text
or null, extras as an object), a version's a JSON list holding its values object; the table and
row id are the associated data. A linked record (and its versions) is sealed under its child's
data key, an unlinked one under one load key made for this migration. Backwards opens them again.
"""

import json
import uuid

import django.db.models.deletion
from django.db import migrations, models

FIELDS = (
    "given_name",
    "middle_names",
    "family_name",
    "former_family_name",
    "date_of_birth",
    "address_line_1",
    "town",
    "postcode",
    "nhs_number",
    "upn",
    "extras",
)
CHUNK = 2000


class _Keys:
    """Ciphers by child (created where missing), and one load key for the unlinked rows."""

    def __init__(self, apps):
        self.apps = apps
        self.load_key = None
        self.load_cipher = None

    def children(self, child_ids):
        from contactpoint.records.sealed import ciphers_for

        return ciphers_for(child_ids)

    def for_load(self):
        if self.load_key is None:
            from contactpoint.retention import crypto

            key_id, plain = uuid.uuid4().hex, crypto.new_key()
            wrapped, kek_id = crypto.key_wrap(plain, key_id=key_id)
            model = self.apps.get_model("feeds", "LoadKey")
            self.load_key = model.objects.create(key_id=key_id, wrapped=wrapped, kek_id=kek_id).pk
            self.load_cipher = crypto.cipher(plain)
        return self.load_key, self.load_cipher

    def opener(self, row, ciphers):
        from contactpoint.retention import crypto

        if row.sealed_key_id is not None:
            return ciphers[row.sealed_key_id]
        key = self.apps.get_model("feeds", "LoadKey").objects.get(pk=row.load_key_id)
        return crypto.cipher(crypto.key_unwrap(bytes(key.wrapped), key_id=key.key_id, kek_id=key.kek_id))


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def seal(apps, schema_editor):
    from contactpoint.retention.crypto import value_seal

    keys = _Keys(apps)
    record_model = apps.get_model("feeds", "SourceRecord")
    version_model = apps.get_model("feeds", "SourceRecordVersion")
    last = 0
    while rows := list(record_model.objects.filter(pk__gt=last).order_by("pk")[:CHUNK]):
        ciphers = keys.children(r.child_id for r in rows if r.child_id is not None)
        for row in rows:
            plain = json.dumps([_plain(getattr(row, f)) for f in FIELDS], separators=(",", ":"))
            if row.child_id is not None:
                aead, row.sealed_key_id, row.load_key_id = ciphers[row.child_id], row.child_id, None
            else:
                row.load_key_id, aead = keys.for_load()
            row.sealed_values = value_seal(aead, plain, context=f"feeds_sourcerecord:{row.pk}")
            row.has_nhs_number = bool(row.nhs_number)
            extras = row.extras or {}
            named = (
                (extras.get("school") or {}).get("code"),
                (extras.get("gp") or {}).get("code"),
                (extras.get("involvement") or {}).get("organisation_code"),
            )
            row.organisation_codes = " ".join(dict.fromkeys(code for code in named if code))[:200]
        record_model.objects.bulk_update(
            rows, ["sealed_values", "sealed_key", "load_key", "has_nhs_number", "organisation_codes"]
        )
        versions = list(version_model.objects.filter(record_id__in=[r.pk for r in rows]))
        by_pk = {r.pk: r for r in rows}
        for version in versions:
            record = by_pk[version.record_id]
            version.sealed_key_id, version.load_key_id = record.sealed_key_id, record.load_key_id
            aead = ciphers[record.child_id] if record.child_id is not None else keys.for_load()[1]
            plain = json.dumps([version.values], separators=(",", ":"))
            version.sealed_values = value_seal(aead, plain, context=f"feeds_sourcerecordversion:{version.pk}")
        version_model.objects.bulk_update(versions, ["sealed_values", "sealed_key", "load_key"])
        last = rows[-1].pk


def unseal(apps, schema_editor):
    import datetime

    from contactpoint.retention.crypto import value_open

    keys = _Keys(apps)
    for name, table in (("SourceRecord", "feeds_sourcerecord"), ("SourceRecordVersion", "feeds_sourcerecordversion")):
        model = apps.get_model("feeds", name)
        last = 0
        while rows := list(model.objects.filter(pk__gt=last).order_by("pk")[:CHUNK]):
            ciphers = keys.children(r.sealed_key_id for r in rows if r.sealed_key_id is not None)
            for row in rows:
                listed = json.loads(
                    value_open(keys.opener(row, ciphers), bytes(row.sealed_values), context=f"{table}:{row.pk}")
                )
                if name == "SourceRecordVersion":
                    row.values = listed[0]
                    continue
                for field, value in zip(FIELDS, listed, strict=True):
                    setattr(row, field, value)
                row.date_of_birth = datetime.date.fromisoformat(row.date_of_birth) if row.date_of_birth else None
            model.objects.bulk_update(rows, ["values"] if name == "SourceRecordVersion" else list(FIELDS))
            last = rows[-1].pk


def _key_fields(model_name):
    return [
        migrations.AddField(
            model_name=model_name,
            name="sealed_values",
            field=models.BinaryField(default=b"", editable=False),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name=model_name,
            name="sealed_key",
            field=models.ForeignKey(
                blank=True,
                db_column="sealed_child_id",
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="retention.childdatakey",
                to_field="child",
            ),
        ),
        migrations.AddField(
            model_name=model_name,
            name="load_key",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="feeds.loadkey",
            ),
        ),
    ]


def _one_key(table):
    return models.CheckConstraint(
        condition=models.Q(("load_key__isnull", True), ("sealed_key__isnull", False))
        | models.Q(("load_key__isnull", False), ("sealed_key__isnull", True)),
        name=f"{table}_sealed_by_one_key",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("feeds", "0003_quarantine_sealed"),
        ("linkage", "0003_blind_candidate_index"),  # it reads the records' values in the clear
        ("retention", "0004_consent_evidence_death_source"),
    ]

    operations = [
        migrations.CreateModel(
            name="LoadKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key_id", models.CharField(max_length=40, unique=True)),
                ("wrapped", models.BinaryField()),
                (
                    "kek_id",
                    models.CharField(help_text="The key-encryption key that wrapped it.", max_length=16),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("rewrapped_at", models.DateTimeField(blank=True, null=True)),
                (
                    "file",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="load_key",
                        to="feeds.feedfile",
                    ),
                ),
            ],
        ),
        *_key_fields("sourcerecord"),
        *_key_fields("sourcerecordversion"),
        migrations.AddField(
            model_name="sourcerecord", name="has_nhs_number", field=models.BooleanField(default=False)
        ),
        migrations.AddField(
            model_name="sourcerecord",
            name="organisation_codes",
            field=models.CharField(blank=True, max_length=200),
        ),
        # So that backwards the column comes back empty, to be filled by `unseal`.
        migrations.AlterField(model_name="sourcerecordversion", name="values", field=models.JSONField(null=True)),
        # Backwards the check comes back only once `unseal` has filled the names again.
        migrations.RemoveConstraint(model_name="sourcerecord", name="sourcerecord_has_a_name"),
        migrations.RunPython(seal, unseal),
        *(migrations.RemoveField(model_name="sourcerecord", name=field) for field in FIELDS),
        migrations.RemoveField(model_name="sourcerecordversion", name="values"),
        migrations.AddConstraint(model_name="sourcerecord", constraint=_one_key("sourcerecord")),
        migrations.AddConstraint(model_name="sourcerecordversion", constraint=_one_key("sourcerecordversion")),
    ]
