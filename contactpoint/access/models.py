"""Who may use the index: roles as rows synced from roles.py, and each user's organisation and vetting."""

import datetime

from django.conf import settings
from django.db import models

from contactpoint.records.models import Organisation, OrganisationKind

VETTING_VALID_FOR = datetime.timedelta(days=3 * 365)
VETTING_LAPSE_NOTICE = datetime.timedelta(days=90)
"""How early the team is shown a DBS check about to lapse: long enough to get a new one done."""


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
    home_postcode = models.CharField(
        max_length=8,
        blank=True,
        help_text="Misuse detection flags searches for children at the user's own address.",
    )
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspension_reason = models.CharField(max_length=500, blank=True)
    unscheduled_care = models.BooleanField(
        default=False,
        help_text="Works in an emergency or unscheduled-care setting (A&E, out-of-hours, walk-in): "
        "opening a child known to children's services tells the responsible authority.",
    )

    @property
    def vetting_lapses_on(self) -> datetime.date | None:
        """The last day the enhanced DBS check counts (None without one)."""
        return self.dbs_checked_on + VETTING_VALID_FOR if self.dbs_checked_on else None

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


class ApiToken(models.Model):
    """A bearer token for a case-management system, acting as one user.

    Only a SHA-256 digest is stored: a copy of the database does not yield usable tokens. The
    prefix lets an operator recognise a token in logs without it being usable.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    unscheduled_care = models.BooleanField(
        default=False, help_text="Issued to an emergency or unscheduled-care system (see Profile)."
    )

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Shield(models.Model):
    """A local authority's shield on a child (refuge, witness protection).

    While a shield is active, ordinary users see only the child's names, gender, date of birth,
    ContactPoint ID and carers' names (domain.md section 4).
    """

    child = models.ForeignKey("records.Child", on_delete=models.CASCADE, related_name="shields")
    local_authority = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    review_due = models.DateField()
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    end_reason = models.CharField(max_length=500, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True, help_text="The last renewal at review.")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    review_notified_for = models.DateField(
        null=True, blank=True, help_text="The review date the team was last told about (sent once per date)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["child"],
                condition=models.Q(ended_at__isnull=True),
                name="shield_one_active_per_child",
            ),
            models.CheckConstraint(condition=~models.Q(reason=""), name="shield_has_reason"),
        ]


class BreakGlassAlert(models.Model):
    """Raised the moment a shield is overridden: the shielding authority investigates every one."""

    child = models.ForeignKey("records.Child", on_delete=models.CASCADE, related_name="+")
    shield = models.ForeignKey(Shield, on_delete=models.PROTECT, related_name="alerts")
    local_authority = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500)
    raised_at = models.DateTimeField(auto_now_add=True)
    investigated_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=500, blank=True)
