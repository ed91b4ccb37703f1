"""Who may use the index: roles as rows synced from roles.py, and each user's organisation and vetting."""

import datetime

from django.conf import settings
from django.db import models

from contactpoint.records.models import Organisation, OrganisationKind

VETTING_VALID_FOR = datetime.timedelta(days=3 * 365)


class Role(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    permissions = models.JSONField(default=list)

    def __str__(self) -> str:
        return self.name


class Profile(models.Model):
    """What the index needs to know about a user beyond Django's account."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="profiles")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="members")
    local_authority = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="area_users",
        limit_choices_to={"kind": OrganisationKind.LOCAL_AUTHORITY},
    )
    dbs_checked_on = models.DateField(null=True, blank=True, help_text="Enhanced DBS check date.")
    training_completed_on = models.DateField(null=True, blank=True)
    agreement_signed_on = models.DateField(null=True, blank=True)

    def vetting_problems(self, today: datetime.date) -> list[str]:
        """Why this account may not be used today (empty when its vetting is current)."""
        problems = []
        if self.dbs_checked_on is None:
            problems.append("No enhanced DBS check is recorded.")
        elif self.dbs_checked_on + VETTING_VALID_FOR < today:
            problems.append(f"The enhanced DBS check of {self.dbs_checked_on:%d %B %Y} has lapsed.")
        if self.training_completed_on is None:
            problems.append("ContactPoint training has not been completed.")
        if self.agreement_signed_on is None:
            problems.append("The user agreement has not been signed.")
        return problems
