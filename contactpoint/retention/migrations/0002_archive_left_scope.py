"""The targeted scope archives through retention: a basis of its own, and its old archive's rows
moved here (archived on the day the scope review archived them, so their clocks are unchanged)."""

import datetime

from django.db import migrations, models
from django.utils import timezone

LEFT_SCOPE = "left_scope"


def scope_archive_into_retention(apps, schema_editor):
    ScopeArchive = apps.get_model("signposting", "ScopeArchive")
    ChildRetention = apps.get_model("retention", "ChildRetention")
    for child_id, archived_at in ScopeArchive.objects.values_list("child_id", "archived_at").iterator():
        on = timezone.localdate(archived_at) if timezone.is_aware(archived_at) else archived_at.date()
        state, _ = ChildRetention.objects.get_or_create(child_id=child_id)
        if state.state == "archived":  # archived by age or after a death too: that stands
            continue
        state.state, state.archived_on, state.archive_basis = "archived", on, LEFT_SCOPE
        state.save(update_fields=["state", "archived_on", "archive_basis"])


def retention_into_scope_archive(apps, schema_editor):
    """Undone: the left-scope archive goes back to the targeted scope's own table."""
    ScopeArchive = apps.get_model("signposting", "ScopeArchive")
    ChildRetention = apps.get_model("retention", "ChildRetention")
    moved = ChildRetention.objects.filter(state="archived", archive_basis=LEFT_SCOPE)
    ScopeArchive.objects.bulk_create(
        ScopeArchive(
            child_id=child_id,
            archived_at=timezone.make_aware(datetime.datetime.combine(on, datetime.time())),
            reason="no longer known to services",
        )
        for child_id, on in moved.values_list("child_id", "archived_on")
    )
    moved.update(state="live", archived_on=None, archive_basis="")


class Migration(migrations.Migration):
    dependencies = [
        ("retention", "0001_initial"),
        ("signposting", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="childretention",
            name="archive_basis",
            field=models.CharField(
                blank=True,
                choices=[
                    ("age_18", "Reached 18"),
                    ("age_25", "Reached 25 (kept live by consent)"),
                    ("after_death", "A year after the child's death"),
                    ("left_scope", "No longer known to services (targeted scope)"),
                ],
                max_length=12,
            ),
        ),
        migrations.RunPython(scope_archive_into_retention, retention_into_scope_archive),
    ]
