"""Events about children, and their delivery to the people and systems that may know of them.

`Event` is an outbox: it is written in the same transaction as the change it describes, so a
change that commits always has its event and a change that rolls back never does. Delivery is a
separate, retried step (`Delivery`, one row per receiver and channel) that a worker carries out
after the commit. Events and deliveries hold ids and codes, never names or addresses: what a
receiver is told is decided when it is told, through the access door (services.py).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from contactpoint.records.models import Organisation, OrganisationKind


class EventKind(models.TextChoices):
    ADDRESS_MOVED_AREA = "address_moved_area", "Moved to another local authority area"
    INVOLVEMENT_STARTED = "involvement_started", "A service started working with the child"
    INVOLVEMENT_ENDED = "involvement_ended", "A service stopped working with the child"
    LEAD_PROFESSIONAL_CHANGED = "lead_professional_changed", "The lead professional changed"
    CHILDREN_MERGED = "children_merged", "Two records were found to be one child"
    MERGE_UNDONE = "merge_undone", "A merge was undone: two children again"
    SHIELD_ADDED = "shield_added", "The child was shielded"
    SHIELD_REMOVED = "shield_removed", "The child's shield ended"
    EMERGENCY_LOOKUP = "emergency_lookup", "Looked up from an emergency or unscheduled-care setting"


class Event(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    child = models.ForeignKey("records.Child", on_delete=models.CASCADE, related_name="+")
    other_child = models.ForeignKey(
        "records.Child", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    details = models.JSONField(default=dict, blank=True, help_text="Ids and codes only, never values.")
    fanned_out_at = models.DateTimeField(null=True, blank=True, help_text="When its deliveries were made.")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="event_kind_valid")
        ]
        indexes = [
            models.Index(
                fields=["occurred_at"], condition=Q(fanned_out_at__isnull=True), name="event_pending"
            ),
            models.Index(fields=["child", "kind", "-occurred_at"], name="event_child_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.uid}"


class Channel(models.TextChoices):
    IN_APP = "in_app", "In ContactPoint"
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Given up (dead letter)"
    WITHHELD = "withheld", "Withheld: the receiver may no longer see it"


class WebhookEndpoint(models.Model):
    """A case-management system's address for events, registered over the API by one of its users.

    What it receives is what that user could see: the user's role, organisation and area decide,
    at each delivery, exactly as the door would for the user.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=64, help_text="The HMAC key receivers verify signatures with.")
    event_kinds = models.JSONField(default=list, blank=True, help_text="Empty: every kind.")
    created_at = models.DateTimeField(auto_now_add=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.url

    def wants(self, kind: str) -> bool:
        return not self.event_kinds or kind in self.event_kinds


class Delivery(models.Model):
    """One event to one receiver over one channel; the unit that is retried and de-duplicated.

    `idempotency_key` is derived from the event and the receiver, so fanning an event out twice
    (a worker that died half-way) makes no second row, and a receiver that sees the same key
    twice knows it is a retry.
    """

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    idempotency_key = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A worker is sending it; after this the claim has lapsed."
    )
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True, help_text="In-app: when the user read it.")

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="delivery_channel_valid"),
            models.CheckConstraint(
                condition=Q(channel=Channel.WEBHOOK, endpoint__isnull=False, user__isnull=True)
                | (~Q(channel=Channel.WEBHOOK) & Q(endpoint__isnull=True, user__isnull=False)),
                name="delivery_one_receiver",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status=DeliveryStatus.PENDING), name="delivery_due"
            ),
            models.Index(fields=["user", "channel", "read_at"], name="delivery_inbox"),
        ]


class Preference(models.Model):
    """A practitioner's choices. The responsible authority's team and the lead professional are
    always told; other practitioners working with a child only if they opt in."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    involved_children = models.BooleanField(
        default=False, help_text="Tell me about changes to children I am working with."
    )
    email = models.BooleanField(default=True, help_text="Also by email, as well as in ContactPoint.")


class EmergencyLookup(models.Model):
    """A child known to children's services opened from an emergency or unscheduled-care setting.

    The responsible authority sees the latest of these for each of its children, as with CP-IS.
    """

    child = models.ForeignKey("records.Child", on_delete=models.CASCADE, related_name="+")
    occurred_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    client = models.CharField(max_length=200, blank=True, help_text="The page, or the API token's prefix.")

    class Meta:
        indexes = [models.Index(fields=["child", "-occurred_at"], name="emergencylookup_latest")]


class PostcodeDistrict(models.Model):
    """Which local authority a postcode district lies in, for addresses whose source gave none.

    A district can straddle a boundary; the register names the authority holding most of it, and
    an address's own local authority (when a source gives one) always wins.
    """

    district = models.CharField(max_length=4, primary_key=True)
    local_authority = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"kind": OrganisationKind.LOCAL_AUTHORITY},
    )
