# The candidate index stored blind (linkage.blind): the plaintext keys are deleted and the column
# becomes 16-byte HMACs under an index key; the trigram index over source records' family names
# (0002), which search no longer reads, is dropped, since it held every linked family name in the
# clear. Linked records are re-keyed here, under a fresh index key. Going back deletes the blind
# keys and marks linked records for linking, so the next `contactpoint link` re-keys them in the
# clear.

from django.db import migrations, models

POSTGRESQL_TRGM = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS sourcerecord_dob_family_trgm ON feeds_sourcerecord "
    "USING gin (date_of_birth, upper(family_name) gin_trgm_ops) WITH (fastupdate = off) "
    "WHERE child_id IS NOT NULL"
)
SQLITE_DOB = (
    "CREATE INDEX IF NOT EXISTS sourcerecord_dob_linked ON feeds_sourcerecord (date_of_birth) "
    "WHERE child_id IS NOT NULL"
)


def keys_clear(apps, schema_editor):
    apps.get_model("linkage", "CandidateKey").objects.all().delete()


def trigram_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS sourcerecord_dob_family_trgm")
    else:
        schema_editor.execute("DROP INDEX IF EXISTS sourcerecord_dob_linked")


def trigram_index_create(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    schema_editor.execute(POSTGRESQL_TRGM if postgresql else SQLITE_DOB)


def records_rekey(apps, schema_editor):
    """The keys of every linked record, from the values as they stand here (in the clear: feeds
    0004 seals them after this migration), with today's key derivation."""
    from contactpoint.feeds.loader import bulk_insert
    from contactpoint.linkage.blind import index_keys
    from contactpoint.linkage.candidates import KEY_FIELDS, record_keys

    linked = apps.get_model("feeds", "SourceRecord").objects.filter(child__isnull=False, withdrawn_at__isnull=True)
    if not linked.exists():
        return
    newest = index_keys(fresh=True)[0]
    last = 0
    while rows := list(linked.filter(pk__gt=last).order_by("pk").values(*KEY_FIELDS, "child_id")[:5000]):
        keyed = [[row["pk"], row["child_id"], key] for row in rows for key in record_keys(row, newest)]
        bulk_insert("linkage_candidatekey", ["record_id", "child_id", "key"], keyed)
        last = rows[-1]["pk"]


def records_relink(apps, schema_editor):
    apps.get_model("linkage", "CandidateKey").objects.all().delete()
    apps.get_model("feeds", "SourceRecord").objects.filter(child__isnull=False).update(needs_linking=True)


class Migration(migrations.Migration):
    atomic = False  # DROP / CREATE INDEX CONCURRENTLY

    dependencies = [
        ("feeds", "0001_initial"),
        ("linkage", "0002_search_candidate_indexes"),
    ]

    operations = [
        migrations.RunPython(keys_clear, keys_clear),
        migrations.AlterField(model_name="candidatekey", name="key", field=models.BinaryField(max_length=16)),
        migrations.CreateModel(
            name="IndexKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key_id", models.CharField(max_length=32, unique=True)),
                ("wrapped", models.BinaryField()),
                ("kek_id", models.CharField(max_length=16)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.RunPython(trigram_index_drop, trigram_index_create),
        migrations.RunPython(records_rekey, records_relink),
    ]
