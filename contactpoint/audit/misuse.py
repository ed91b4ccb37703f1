"""Misuse detection over the recent log, and the management team's response to an alert.

Each rule in misuse_rules.py has a check here that reads the log's events (ids and actors) and,
where it must compare with a child's names, postcodes, area or involvements, asks the data layer
(`records.selectors.children_match_facts`): that read is internal, never shown, and so is not a
record view. An alert goes to the management team of the user's authority, who can suspend the
account, tell the user's manager and record the outcome; each of those is audited.
"""

import datetime
import logging
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from contactpoint.access import permissions as p
from contactpoint.access.actors import Actor
from contactpoint.access.models import Profile
from contactpoint.access.services import user_reinstate, user_suspend
from contactpoint.records.selectors import ChildMatchFacts, children_match_facts, normal_postcode

from .criteria import criteria_open
from .misuse_rules import RULES, MisuseRule
from .models import (
    AlertAction,
    AlertStatus,
    AuditEvent,
    EventType,
    MisuseAlert,
    MisuseAlertAction,
    Outcome,
)
from .services import audit_record

logger = logging.getLogger(__name__)
LOOKUPS = (EventType.SEARCH, EventType.VIEW, EventType.BREAK_GLASS)
EVIDENCE_IDS = 50  # event ids kept in an alert; the reports give the rest
# Search criteria names, as the API and the FHIR search spell them (interfaces.md).
FAMILY_NAME_CRITERIA = ("family_name", "family")
POSTCODE_CRITERIA = ("postcode", "address-postalcode")


@dataclass
class Finding:
    user_id: int
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)


def _lookups(start: datetime.datetime, end: datetime.datetime) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        occurred_at__gte=start,
        occurred_at__lt=end,
        actor_user_id__isnull=False,
        outcome=Outcome.SUCCESS,
        event_type__in=LOOKUPS,
    ).order_by("occurred_at", "id")


def _concerned(event: AuditEvent) -> list[str]:
    """The children an event looked up: the ids it opened, or the ids a search returned."""
    returned = event.details.get("returned_ids") if event.event_type == EventType.SEARCH else None
    return list(dict.fromkeys([*event.child_ids, *(returned if isinstance(returned, list) else [])]))


def _facts_for(events: Iterable[AuditEvent]) -> dict[str, ChildMatchFacts]:
    return children_match_facts({cp_id for event in events for cp_id in _concerned(event)})


def _own_surname_or_address(rule: MisuseRule, start, end) -> list[Finding]:
    people = {
        profile.user_id: (profile.user.last_name.strip().casefold(), normal_postcode(profile.home_postcode))
        for profile in Profile.objects.select_related("user").filter(
            ~Q(user__last_name="") | ~Q(home_postcode="")
        )
    }
    events = list(_lookups(start, end).filter(actor_user_id__in=list(people)))
    facts = _facts_for(events)
    opened: dict[str, Any] = {}
    surname_hits: dict[int, list[int]] = defaultdict(list)
    address_hits: dict[int, list[int]] = defaultdict(list)
    for event in events:
        assert event.actor_user_id is not None
        surname, postcode = people[event.actor_user_id]
        criteria = criteria_open(event.details, uid=event.uid, keys=opened) or {}
        children = [facts[c] for c in _concerned(event) if c in facts]
        if surname and (
            any(str(criteria.get(key, "")).strip().casefold() == surname for key in FAMILY_NAME_CRITERIA)
            or any(surname in child.family_names for child in children)
        ):
            surname_hits[event.actor_user_id].append(event.pk)
        if postcode and (
            any(normal_postcode(str(criteria.get(key, ""))) == postcode for key in POSTCODE_CRITERIA)
            or any(postcode in child.postcodes for child in children)
        ):
            address_hits[event.actor_user_id].append(event.pk)
    findings = []
    for user_id in set(surname_hits) | set(address_hits):
        surnames, addresses = surname_hits[user_id], address_hits[user_id]
        if (
            len(surnames) >= rule.thresholds["min_surname_matches"]
            or len(addresses) >= rule.thresholds["min_address_matches"]
        ):
            findings.append(
                Finding(
                    user_id,
                    f"{len(surnames)} searches or views concerned people with the user's own family name, "
                    f"{len(addresses)} the user's home postcode.",
                    {"surname_events": surnames[:EVIDENCE_IDS], "address_events": addresses[:EVIDENCE_IDS]},
                )
            )
    return findings


def _volume_above_peers(rule: MisuseRule, start, end) -> list[Finding]:
    counts = (
        _lookups(start, end)
        .filter(event_type__in=[EventType.SEARCH, EventType.VIEW])
        .order_by()
        .values("actor_user_id", "actor_role")
        .annotate(n=Count("id"))
    )
    by_role: dict[str, dict[int | None, int]] = defaultdict(dict)
    for row in counts:
        by_role[row["actor_role"]][row["actor_user_id"]] = row["n"]
    findings = []
    for role, users in by_role.items():
        for user_id, n in users.items():
            peers = [count for other, count in users.items() if other != user_id]
            if (
                user_id is None
                or len(peers) < rule.thresholds["min_peers"]
                or n < rule.thresholds["min_events"]
            ):
                continue
            median = statistics.median(peers)
            if n >= rule.thresholds["multiple_of_median"] * median:
                findings.append(
                    Finding(
                        user_id,
                        f"{n} searches and views against a median of {median:g} for {len(peers)} other "
                        f"{role} users.",
                        {"events": n, "peer_median": median, "peers": len(peers), "role": role},
                    )
                )
    return findings


def _far_outside_area(rule: MisuseRule, start, end) -> list[Finding]:
    events = list(_lookups(start, end).filter(event_type__in=[EventType.VIEW, EventType.BREAK_GLASS]))
    facts = _facts_for(events)
    neighbours: dict[str, list[str]] = rule.thresholds["neighbours"]
    far: dict[int, dict[str, int]] = defaultdict(dict)
    for event in events:
        assert event.actor_user_id is not None
        home = event.actor_local_authority
        for cp_id in event.child_ids:
            child = facts.get(cp_id)
            if (
                child is not None
                and child.local_authority
                and child.local_authority != home
                and child.local_authority not in neighbours.get(home, ())
                and event.actor_organisation not in child.involved_organisations
            ):
                far[event.actor_user_id].setdefault(cp_id, event.pk)
    return [
        Finding(
            user_id,
            f"Viewed {len(children)} children living outside the user's area with no involvement there.",
            {"children": sorted(children)[:EVIDENCE_IDS], "events": sorted(children.values())[:EVIDENCE_IDS]},
        )
        for user_id, children in far.items()
        if len(children) >= rule.thresholds["min_children"]
    ]


def _out_of_hours_burst(rule: MisuseRule, start, end) -> list[Finding]:
    t = rule.thresholds
    size, span = t["burst_size"], datetime.timedelta(minutes=t["burst_minutes"])
    times: dict[int | None, list[tuple[datetime.datetime, int]]] = defaultdict(list)
    for user_id, pk, at in (
        _lookups(start, end)
        .filter(event_type__in=[EventType.SEARCH, EventType.VIEW])
        .values_list("actor_user_id", "id", "occurred_at")
    ):
        local = timezone.localtime(at)
        if local.weekday() >= 5 or not t["working_day_starts"] <= local.hour < t["working_day_ends"]:
            times[user_id].append((at, pk))
    findings = []
    for user_id, moments in times.items():
        if user_id is None:
            continue
        for first in range(len(moments) - size + 1):
            if moments[first + size - 1][0] - moments[first][0] <= span:
                burst = moments[first : first + size]
                began = timezone.localtime(burst[0][0])
                findings.append(
                    Finding(
                        user_id,
                        f"{size} or more searches and views within {t['burst_minutes']} minutes "
                        f"out of hours, from {began:%a %d %b %H:%M}.",
                        {"events": [pk for _, pk in burst], "out_of_hours_events": len(moments)},
                    )
                )
                break
    return findings


def _searches_without_view(rule: MisuseRule, start, end) -> list[Finding]:
    rows = (
        _lookups(start, end)
        .order_by()
        .values("actor_user_id")
        .annotate(
            searches=Count("id", filter=Q(event_type=EventType.SEARCH)),
            views=Count("id", filter=Q(event_type__in=[EventType.VIEW, EventType.BREAK_GLASS])),
        )
    )
    t = rule.thresholds
    return [
        Finding(
            row["actor_user_id"],
            f"{row['searches']} searches and {row['views']} record views.",
            {"searches": row["searches"], "views": row["views"]},
        )
        for row in rows
        if row["actor_user_id"] is not None
        and row["searches"] >= t["min_searches"]
        and row["views"] <= row["searches"] * t["max_views_per_search"]
    ]


CHECKS: dict[str, Callable[[MisuseRule, datetime.datetime, datetime.datetime], list[Finding]]] = {
    "own_surname_or_address": _own_surname_or_address,
    "volume_above_peers": _volume_above_peers,
    "far_outside_area": _far_outside_area,
    "out_of_hours_burst": _out_of_hours_burst,
    "searches_without_view": _searches_without_view,
}


def misuse_detect(
    *, now: datetime.datetime | None = None, rules: Iterable[MisuseRule] = RULES
) -> list[MisuseAlert]:
    """Evaluate each rule over its window ending now; raise an alert per new finding.

    A user already alerted under a rule for a window overlapping this one is not alerted again
    for it, so the command can run as often as wanted.
    """
    now = now or timezone.now()
    raised = []
    for rule in rules:
        start = now - rule.window
        for finding in CHECKS[rule.code](rule, start, now):
            already = MisuseAlert.objects.filter(
                rule=rule.code, user_id=finding.user_id, window_end__gt=start
            )
            if not already.exists():
                alert = misuse_alert_raise(rule=rule, finding=finding, start=start, end=now)
                if alert is not None:
                    raised.append(alert)
    return raised


@transaction.atomic
def misuse_alert_raise(
    *, rule: MisuseRule, finding: Finding, start: datetime.datetime, end: datetime.datetime
) -> MisuseAlert | None:
    profile = Profile.objects.select_related("user").filter(user_id=finding.user_id).first()
    if profile is None:  # an account removed since: its events remain in the reports
        logger.warning("misuse rule %s fired for user %s, who has no profile", rule.code, finding.user_id)
        return None
    alert = MisuseAlert.objects.create(
        rule=rule.code,
        user_id=finding.user_id,
        username=profile.user.get_username(),
        local_authority_id=profile.local_authority_id,
        window_start=start,
        window_end=end,
        summary=finding.summary[:500],
        evidence=finding.evidence,
    )
    audit_record(
        event_type=EventType.ADMIN,
        username="misuse-detection",
        details={
            "action": "misuse_alert_raised",
            "alert": alert.pk,
            "rule": rule.code,
            "user_id": alert.user_id,
        },
    )
    transaction.on_commit(lambda: _tell_the_team(alert, rule))
    return alert


def _tell_the_team(alert: MisuseAlert, rule: MisuseRule) -> None:
    team = _team_emails(alert)
    if not team:
        return
    try:
        send_mail(
            f"ContactPoint misuse alert {alert.pk}: {rule.title}",
            f"A misuse rule fired for {alert.username}: {alert.summary}\n\n"
            "Review it under Audit > Misuse alerts. This message holds no child's details.",
            settings.DEFAULT_FROM_EMAIL,
            team,
        )
    except OSError:  # the alert stands on the team's page whether or not mail goes out
        logger.exception("could not e-mail the team about misuse alert %s", alert.pk)


def _team_emails(alert: MisuseAlert) -> list[str]:
    profiles = Profile.objects.select_related("user", "role").filter(
        local_authority_id=alert.local_authority_id, user__is_active=True, suspended_at__isnull=True
    )
    return [
        profile.user.email
        for profile in profiles
        if profile.user.email and p.RESPOND_TO_MISUSE in profile.role.permissions
    ]


def alerts_for(actor: Actor) -> QuerySet[MisuseAlert]:
    """Alerts an actor may see: their own area's to its team, all to an auditor."""
    alerts = MisuseAlert.objects.select_related("local_authority").order_by("-raised_at")
    if actor.can(p.READ_AUDIT_ALL):
        return alerts
    if actor.can(p.RESPOND_TO_MISUSE):
        return alerts.filter(local_authority_id=actor.local_authority.pk)
    raise PermissionDenied(f"The {actor.role} role cannot see misuse alerts.")


def _responder_check(actor: Actor, alert: MisuseAlert) -> None:
    if not actor.can(p.RESPOND_TO_MISUSE) or alert.local_authority_id != actor.local_authority.pk:
        raise PermissionDenied("Only the management team of the user's own authority may act on this alert.")
    if alert.status == AlertStatus.CLOSED:
        raise ValidationError("This alert is closed.")


def _acted(alert: MisuseAlert, actor: Actor, action: AlertAction, note: str, recipient: str = "") -> None:
    MisuseAlertAction.objects.create(
        alert=alert, action=action, by_id=actor.user_id, note=note, recipient=recipient
    )
    audit_record(
        event_type=EventType.ADMIN,
        actor=actor,
        reason=note[:500],
        details={"action": f"misuse_alert_{action}", "alert": alert.pk, "user_id": alert.user_id},
    )


@transaction.atomic
def misuse_alert_suspend_user(*, alert: MisuseAlert, actor: Actor, reason: str) -> None:
    """Suspend the alerted account: it can no longer sign in or use its tokens."""
    _responder_check(actor, alert)
    user_suspend(user_id=alert.user_id, actor=actor, reason=reason or f"Misuse alert {alert.pk}")
    _acted(alert, actor, AlertAction.SUSPENDED, reason.strip())


@transaction.atomic
def misuse_alert_reinstate_user(*, alert: MisuseAlert, actor: Actor, reason: str) -> None:
    """Lift a suspension made while investigating (say the concern was unfounded)."""
    _responder_check(actor, alert)
    user_reinstate(user_id=alert.user_id, actor=actor, reason=reason)
    _acted(alert, actor, AlertAction.REINSTATED, reason.strip())


@transaction.atomic
def misuse_alert_notify_manager(
    *, alert: MisuseAlert, actor: Actor, manager_email: str, note: str = ""
) -> None:
    """E-mail the user's manager (no child's details) and record that it was done, and to whom."""
    _responder_check(actor, alert)
    manager_email = manager_email.strip()
    if "@" not in manager_email or len(manager_email) > 254:
        raise ValidationError("Enter the manager's e-mail address, like name@example.gov.uk.")
    send_mail(
        f"ContactPoint: a concern about {alert.username}'s use of the index",
        f"The ContactPoint team of {alert.local_authority.name} is looking into how {alert.username} "
        f"has used ContactPoint ({alert.summary}). Please contact {actor.username} at the team.\n\n"
        + (f"{note.strip()}\n" if note.strip() else ""),
        settings.DEFAULT_FROM_EMAIL,
        [manager_email],
    )
    _acted(alert, actor, AlertAction.MANAGER_NOTIFIED, note.strip(), recipient=manager_email)


@transaction.atomic
def misuse_alert_close(*, alert: MisuseAlert, actor: Actor, outcome: str) -> None:
    """Record what the investigation found; the alert is then closed."""
    _responder_check(actor, alert)
    if not outcome.strip():
        raise ValidationError("Record what the investigation found before closing the alert.")
    MisuseAlert.objects.filter(pk=alert.pk).update(status=AlertStatus.CLOSED, outcome=outcome.strip())
    alert.status, alert.outcome = AlertStatus.CLOSED, outcome.strip()
    _acted(alert, actor, AlertAction.OUTCOME, outcome.strip())
