"""The targeted scope's archive is retention's now (retention 0002 moved its rows there)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("signposting", "0001_initial"),
        ("retention", "0002_archive_left_scope"),
    ]

    operations = [
        migrations.DeleteModel(name="ScopeArchive"),
    ]
