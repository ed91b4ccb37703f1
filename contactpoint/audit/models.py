"""The audit log: append-only events, sealed into a hash chain, with signed checkpoints.

Writers only insert events; they never wait for each other. A sealer appends each event, in id
order, to the chain (AuditSeal: its position and a hash committing to everything before it), and
from time to time signs the chain head with a key kept outside the database (AuditCheckpoint).
Nothing here is ever updated or deleted: on PostgreSQL a trigger refuses it (migration 0002).
Events hold ids, never names, so the log can outlive the records it describes.
"""

from django.conf import settings
from django.db import models

from contactpoint.records.models import Organisation


class EventType(models.TextChoices):
    SIGN_IN = "sign_in", "Sign-in"
    SIGN_IN_FAILED = "sign_in_failed", "Failed sign-in"
    SIGN_OUT = "sign_out", "Sign-out"
    SEARCH = "search", "Search"
    VIEW = "view", "Record view"
    BREAK_GLASS = "break_glass", "Break-glass reveal"
    CHANGE = "change", "Change"
    MERGE = "merge", "Merge"
    UNMERGE = "unmerge", "Unmerge"
    SHIELD = "shield", "Shield change"
    EXPORT = "export", "Export"
    FEED_LOAD = "feed_load", "Feed load"
    ROLE_OR_VETTING = "role_or_vetting", "Role or vetting change"
    ADMIN = "admin", "Administrative act"


class Outcome(models.TextChoices):
    SUCCESS = "success", "Succeeded"
    DENIED = "denied", "Refused"
    ERROR = "error", "Failed"


class AuditEvent(models.Model):
    """One thing that happened. `uid` and `mac` (an HMAC over the content, keyed outside the
    database) make a forged, copied or edited row detectable even before it is sealed."""

    uid = models.UUIDField(unique=True, editable=False)
    mac = models.CharField(max_length=64)
    key_id = models.CharField(
        max_length=16, blank=True, help_text="The keyring key that made `mac` (empty: the oldest key)."
    )
    occurred_at = models.DateTimeField()
    event_type = models.CharField(max_length=20, choices=EventType.choices)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=32, blank=True)
    actor_organisation = models.CharField(max_length=32, blank=True)
    actor_local_authority = models.CharField(max_length=32, blank=True)
    on_behalf_of = models.CharField(max_length=150, blank=True)
    client = models.CharField(
        max_length=200, blank=True, help_text="Address and agent, or the token's prefix."
    )
    reason = models.CharField(max_length=500, blank=True)
    child_ids = models.JSONField(default=list, help_text="ContactPoint IDs the event concerned or returned.")
    details = models.JSONField(default=dict, help_text="Search parameters, counts, what changed (ids only).")

    class Meta:
        indexes = [
            models.Index(fields=["actor_user_id", "occurred_at"], name="audit_by_actor"),
            # Reports and misuse detection: a user's activity, one kind of event over a period.
            models.Index(fields=["actor_username", "occurred_at"], name="audit_by_username"),
            models.Index(
                fields=["on_behalf_of", "occurred_at"],
                name="audit_on_behalf_of",
                condition=~models.Q(on_behalf_of=""),
            ),
            # Break-glass uses, exports and the other rarer kinds over a period. Views and searches,
            # nearly every row, stay out of it: reports find them by child (GIN indexes) and misuse
            # rules by period (a BRIN index on occurred_at); migrations 0003 and 0008.
            models.Index(
                fields=["event_type", "occurred_at"],
                name="audit_rare_by_type",
                condition=~models.Q(event_type__in=[EventType.VIEW, EventType.SEARCH]),
            ),
        ]


class AuditSeal(models.Model):
    """An event's place in the chain: position, the previous hash and its own."""

    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="seal")
    position = models.BigIntegerField(unique=True)
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)


class AuditCheckpoint(models.Model):
    """A signed chain head: a rewrite of the whole chain cannot reproduce the signature."""

    position = models.BigIntegerField(unique=True)
    entry_hash = models.CharField(max_length=64)
    signature = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Investigated and closed"


class MisuseAlert(models.Model):
    """A misuse rule fired for one user: it goes to the management team of the user's authority.

    Unlike the log, an alert is a case file that changes (its status and outcome); every act on it
    is also an audit event and a MisuseAlertAction row. Evidence is event ids and counts only.
    """

    rule = models.CharField(max_length=40)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="misuse_alerts")
    username = models.CharField(max_length=150)
    local_authority = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField(auto_now_add=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    summary = models.CharField(max_length=500)
    evidence = models.JSONField(default=dict, help_text="Event ids and counts; no child's name.")
    status = models.CharField(max_length=8, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    outcome = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["local_authority", "status"], name="alert_by_area")]


class AlertAction(models.TextChoices):
    SUSPENDED = "suspended", "Account suspended"
    REINSTATED = "reinstated", "Account reinstated"
    MANAGER_NOTIFIED = "manager_notified", "Manager notified"
    OUTCOME = "outcome", "Investigation outcome recorded"


class MisuseAlertAction(models.Model):
    alert = models.ForeignKey(MisuseAlert, on_delete=models.PROTECT, related_name="actions")
    action = models.CharField(max_length=20, choices=AlertAction.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)
    recipient = models.EmailField(blank=True)


class CriteriaKey(models.Model):
    """The key that seals one year's search criteria in the log (names and birth dates users typed).

    Stored only wrapped by the data key-encryption key, like a child's data key. Deleting the row
    when the year's criteria are past their retention (or at decommissioning) makes them unreadable
    in the log and in every backup of it, while the events, their signatures and the chain, which
    cover the sealed bytes, still verify. Not part of the append-only log: rows are deleted.
    """

    period = models.CharField(max_length=8, unique=True, help_text="The calendar year sealed, e.g. 2026.")
    key_id = models.CharField(max_length=32, unique=True)
    wrapped = models.BinaryField()
    kek_id = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
