"""Writes for users and roles."""

import dataclasses
import datetime
import hashlib
import logging
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from contactpoint.audit.models import EventType, Outcome
from contactpoint.audit.services import audit_record
from contactpoint.compiled import CompiledRead, stand_in
from contactpoint.records import services as records_services
from contactpoint.records.models import Child, Organisation, OrganisationKind
from contactpoint.records.services import declared_row_sync
from contactpoint.retention.selectors import changes_refused_if_archived

from . import permissions
from .actors import AccountSuspended, Actor
from .door import restricted_for
from .models import VETTING_VALID_FOR, ApiToken, Profile, Role, Shield
from .policies import HasPermission
from .roles import ROLES
from .selectors import team_emails

logger = logging.getLogger(__name__)


def roles_sync() -> tuple[int, int]:
    """Make the Role rows match roles.py exactly; safe to run any number of times.

    Returns (created, updated). Roles no longer declared are kept if users still hold them,
    so a mistaken edit cannot strand accounts; they simply stop granting permissions.
    """
    outcomes = Counter(
        declared_row_sync(
            model=Role,
            key={"code": definition.code},
            wanted={
                "name": definition.name,
                "description": definition.description,
                "permissions": sorted(definition.permissions),
            },
        )
        for definition in ROLES
    )
    Role.objects.exclude(code__in=[r.code for r in ROLES]).update(permissions=[])
    return outcomes["created"], outcomes["updated"]


@transaction.atomic
def user_create(
    *,
    username: str,
    role_code: str,
    organisation_code: str,
    local_authority_code: str | None = None,
    vetted: bool = False,
    password: str | None = None,
    today: datetime.date | None = None,
    family_name: str = "",
    email: str = "",
    home_postcode: str = "",
    actor: Actor | None = None,
    unscheduled_care: bool = False,
) -> tuple[AbstractUser, str]:
    """Create an account bound to an organisation and an area. Returns the user and its password.

    An organisation first named here is recorded as accredited: creating an account for its
    staff is the operator's act of accreditation, and an unaccredited one would lock them out.
    `actor` is who is creating it, for the audit log (the command runs as the operator).
    """
    role = Role.objects.filter(code=role_code).first()
    if role is None:
        raise ValidationError(
            f"Unknown role {role_code!r}; run sync_roles or choose one of the declared roles."
        )
    local_authority = _local_authority_get_or_create(local_authority_code or _area_of(organisation_code))
    organisation = _organisation_get_or_create(organisation_code, local_authority)
    if get_user_model().objects.filter(username=username).exists():
        raise ValidationError(f"A user called {username!r} already exists.")
    password = password or secrets.token_urlsafe(18)
    user = get_user_model().objects.create_user(
        username=username, password=password, last_name=family_name.strip(), email=email.strip()
    )
    today = today or datetime.date.today()
    vetting_date = today if vetted else None
    audit_record(
        event_type=EventType.ROLE_OR_VETTING,
        actor=actor,
        username="operator",
        details={
            "action": "user_created",
            "user": username,
            "role": role_code,
            "vetted": vetted,
            **({"unscheduled_care": True} if unscheduled_care else {}),
        },
    )
    Profile.objects.create(
        user=user,
        role=role,
        organisation=organisation,
        local_authority=local_authority,
        dbs_checked_on=vetting_date,
        training_completed_on=vetting_date,
        agreement_signed_on=vetting_date,
        home_postcode=home_postcode.strip().upper(),
        unscheduled_care=unscheduled_care,
    )
    return user, password


def _area_of(organisation_code: str) -> str:
    """The area an existing organisation sits in; a new organisation code is taken to be an authority's."""
    existing = Organisation.objects.filter(code=organisation_code).select_related("local_authority").first()
    if existing is None or existing.kind == OrganisationKind.LOCAL_AUTHORITY:
        return organisation_code
    if existing.local_authority is None:
        raise ValidationError(f"{existing.name} has no local authority area; give --local-authority.")
    return existing.local_authority.code


def _local_authority_get_or_create(code: str) -> Organisation:
    la, _ = Organisation.objects.get_or_create(
        kind=OrganisationKind.LOCAL_AUTHORITY,
        code=code,
        defaults={"name": f"Local authority {code}", "accredited": True},
    )
    return la


def _organisation_get_or_create(code: str, local_authority: Organisation) -> Organisation:
    if code == local_authority.code:
        return local_authority
    existing = Organisation.objects.filter(code=code)
    if existing.count() > 1:
        raise ValidationError(f"More than one organisation has code {code!r}.")
    organisation = existing.first()
    if organisation is None:
        organisation = Organisation.objects.create(
            kind=OrganisationKind.SERVICE_PROVIDER,
            code=code,
            name=f"Organisation {code}",
            local_authority=local_authority,
            accredited=True,
        )
    return organisation


API_TOKEN_LIFETIME = datetime.timedelta(days=365)
# "Last used" says whether a token is still in use, to the minute: writing it on every call made
# each read also a write and a commit (a WAL flush), a quarter of a search's cost under load.
API_TOKEN_USE_RESOLUTION = datetime.timedelta(minutes=1)
API_TOKEN_PREFIX = "cpt_"  # noqa: S105 - a recognisable prefix, not a secret


def _token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_issue(
    *,
    user: Any,
    name: str,
    lifetime: datetime.timedelta = API_TOKEN_LIFETIME,
    unscheduled_care: bool = False,
) -> str:
    """Issue a bearer token; the raw value is returned once and never stored."""
    raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[:12],
        digest=_token_digest(raw),
        expires_at=timezone.now() + lifetime,
        unscheduled_care=unscheduled_care,
    )
    audit_record(
        event_type=EventType.ADMIN,
        username="operator",
        details={
            "action": "api_token_issued",
            "user": user.get_username(),
            "prefix": raw[:12],
            "unscheduled_care": unscheduled_care,
        },
    )
    return raw


def _token_parts() -> tuple[tuple[str, Any], ...]:
    """The token and what its actor is made of, each with its path from the token."""
    return (
        ("", ApiToken),
        ("user__", get_user_model()),
        ("user__profile__", Profile),
        ("user__profile__role__", Role),
        ("user__profile__organisation__", Organisation),
        ("user__profile__local_authority__", Organisation),
    )


def _token_read(vendor: str) -> Any:
    columns = [path + f.attname for path, model in _token_parts() for f in model._meta.concrete_fields]
    return ApiToken.objects.filter(digest=stand_in("digest")).values(*columns)[:1]


_TOKEN = CompiledRead(_token_read)


def _token_with_actor(digest: str) -> ApiToken | None:
    """The token, its user and the user's profile, role and organisations: one statement, compiled
    once (on every API call, compiling the five-table join cost more than running it)."""
    rows = _TOKEN.rows(digest=digest)
    if not rows:
        return None
    row = rows[0]
    made: dict[str, Any] = {}
    for path, model in _token_parts():
        attnames = [f.attname for f in model._meta.concrete_fields]
        if row[path + model._meta.pk.attname] is None:
            made[path] = None  # no profile, or no local authority
            continue
        made[path] = model.from_db("default", attnames, [row[path + name] for name in attnames])
    token, user, profile = made[""], made["user__"], made["user__profile__"]
    token.user = user
    if profile is not None:
        profile.user = user
        profile.role = made["user__profile__role__"]
        profile.organisation = made["user__profile__organisation__"]
        profile.local_authority = made["user__profile__local_authority__"]
    Profile.user.field.remote_field.set_cached_value(user, profile)  # user.profile, as select_related
    return token


def api_token_authenticate(*, raw: str) -> Actor:
    """The actor a bearer token speaks for; refuses unknown, expired, revoked and unvetted tokens."""
    token = _token_with_actor(_token_digest(raw))
    if token is None or token.revoked_at is not None:
        raise PermissionDenied("The token is not valid.")
    if token.expires_at <= timezone.now():
        raise PermissionDenied("The token has expired.")
    if not token.user.is_active:
        raise AccountSuspended("The account is suspended.")
    profile = getattr(token.user, "profile", None)
    actor = Actor.for_profile(token.user, profile)  # lapsed vetting refuses the token too, saying why
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= API_TOKEN_USE_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    if token.unscheduled_care and not actor.unscheduled_care:
        actor = dataclasses.replace(actor, unscheduled_care=True)
    return actor


def api_token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


SHIELD_REVIEW_INTERVAL = datetime.timedelta(days=182)
CAN_SHIELD = HasPermission(permissions.MANAGE_SHIELDING)


@transaction.atomic
def shield_add(*, child: Child, actor: Actor, reason: str, today: datetime.date | None = None) -> Shield:
    """Shield a child for the actor's authority. Only an authority's ContactPoint team may."""
    if not CAN_SHIELD.allows(actor, child):
        raise PermissionDenied(f"{actor.username} ({actor.role}) may not shield children.")
    if not reason.strip():
        raise ValidationError("A reason for shielding is required.")
    if Shield.objects.filter(child=child, ended_at__isnull=True).exists():
        raise ValidationError(f"{child.contactpoint_id} is already shielded.")
    today = today or datetime.date.today()
    shield = Shield.objects.create(
        child=child,
        local_authority=actor.local_authority,
        reason=reason.strip()[:500],
        created_by_id=actor.user_id,
        review_due=today + SHIELD_REVIEW_INTERVAL,
    )
    audit_record(
        event_type=EventType.SHIELD,
        actor=actor,
        child_ids=[child.contactpoint_id],
        reason=shield.reason,
        details={"action": "added", "review_due": shield.review_due.isoformat()},
    )
    _shield_event(shield, added=True)
    return shield


@transaction.atomic
def user_suspend(*, user_id: int, actor: Actor, reason: str) -> Profile:
    """Stop an account at once: no sign-in, no session, no token (Actor.for_user refuses it).

    Only the management team of the user's own area may; the reason is kept and audited.
    """
    profile = Profile.objects.select_related("user", "local_authority").filter(user_id=user_id).first()
    if profile is None:
        raise ValidationError(f"No ContactPoint account has id {user_id}.")
    _check_manages(actor, profile)
    if not reason.strip():
        raise ValidationError("A reason for suspending the account is required.")
    if profile.suspended_at is not None:
        raise ValidationError(f"{profile.user.get_username()} is already suspended.")
    profile.suspended_at, profile.suspension_reason = timezone.now(), reason.strip()[:500]
    profile.save(update_fields=["suspended_at", "suspension_reason"])
    get_user_model().objects.filter(pk=user_id).update(is_active=False)
    audit_record(
        event_type=EventType.ROLE_OR_VETTING,
        actor=actor,
        reason=profile.suspension_reason,
        details={"action": "user_suspended", "user_id": user_id},
    )
    return profile


@transaction.atomic
def user_reinstate(*, user_id: int, actor: Actor, reason: str) -> Profile:
    profile = Profile.objects.select_related("user", "local_authority").filter(user_id=user_id).first()
    if profile is None or profile.suspended_at is None:
        raise ValidationError(f"Account {user_id} is not suspended.")
    _check_manages(actor, profile)
    if not reason.strip():
        raise ValidationError("A reason for reinstating the account is required.")
    profile.suspended_at, profile.suspension_reason = None, ""
    profile.save(update_fields=["suspended_at", "suspension_reason"])
    get_user_model().objects.filter(pk=user_id).update(is_active=True)
    audit_record(
        event_type=EventType.ROLE_OR_VETTING,
        actor=actor,
        reason=reason.strip()[:500],
        details={"action": "user_reinstated", "user_id": user_id},
    )
    return profile


CAN_MANAGE_USERS = HasPermission(permissions.MANAGE_USERS)


def _check_manages(actor: Actor, profile: Profile) -> None:
    if not CAN_MANAGE_USERS.allows(actor) or profile.local_authority_id != actor.local_authority.pk:
        raise PermissionDenied(f"{actor.username} may not manage accounts outside their own area's users.")


# Changes practitioners report about a child through the API. Each is checked here, written by
# records.services with the organisation as its source, and audited as a change: ids, never values.
# (Involvements are recorded by records.services.own_involvement_record, for the pages and the API.)
CAN_RECORD = HasPermission(permissions.RECORD_INVOLVEMENT)


def _change_audited(
    *, actor: Actor, child: Child, reason: str, action: str, write: Callable[[], dict[str, Any]]
) -> None:
    """Run a change and its audit event in one transaction; a refusal is audited too."""
    try:
        with transaction.atomic():
            if not CAN_RECORD.allows(actor, child):
                raise PermissionDenied(f"The {actor.role} role cannot record changes to a child's record.")
            if not reason.strip():
                raise ValidationError("A reason is required before a child's record is changed.")
            details = write()
            audit_record(
                event_type=EventType.CHANGE,
                actor=actor,
                child_ids=[child.contactpoint_id],
                reason=reason.strip(),
                details={"action": action, **details},
            )
    except (PermissionDenied, ValidationError, records_services.ChangeConflict) as refusal:
        audit_record(
            event_type=EventType.CHANGE,
            outcome=Outcome.DENIED,
            actor=actor,
            child_ids=[child.contactpoint_id],
            reason=reason.strip(),
            details={"action": action, "refused": str(refusal)[:200]},
        )
        raise


@dataclass(frozen=True)
class AddressReport:
    """Provenance of a reported address, and whether the record now shows it."""

    source: str
    source_record_id: str
    asserted_at: datetime.datetime
    shown: bool


def address_change_report(
    *, actor: Actor, child: Child, reason: str, address: dict[str, Any]
) -> AddressReport:
    """The actor's organisation reports the child's new whereabouts. A shielded child's address is
    hidden from the reporter, so only those who can see it (the shielding authority) may change it."""
    reports: list[AddressReport] = []

    def write() -> dict[str, Any]:
        changes_refused_if_archived(child.pk)
        if restricted_for(actor, child):
            raise PermissionDenied(
                "This child's address is shielded: report the change to the shielding authority."
            )
        source = records_services.organisation_source(organisation=actor.organisation)
        row, shown = records_services.address_report(child=child, source=source, data=address)
        reports.append(AddressReport(source.code, row.source_record_id, row.asserted_at, shown))
        return {"address": row.pk, "source": source.code, "shown": shown}

    _change_audited(actor=actor, child=child, reason=reason, action="address_reported", write=write)
    return reports[0]


def _check_shielding_team(actor: Actor, shield: Shield) -> None:
    """Only the shielding authority's own team reviews, renews or ends its shield."""
    if not CAN_SHIELD.allows(actor, shield) or shield.local_authority_id != actor.local_authority.pk:
        raise PermissionDenied(
            "Only the team of the authority that shielded this child may review the shield."
        )
    if shield.ended_at is not None:
        raise ValidationError("This shield has already ended.")


@transaction.atomic
def shield_renew(
    *, shield: Shield, actor: Actor, review_due: datetime.date | None, today: datetime.date | None = None
) -> Shield:
    """Keep a shield after review, with the next review date (default: six months on)."""
    _check_shielding_team(actor, shield)
    today = today or datetime.date.today()
    review_due = review_due or today + SHIELD_REVIEW_INTERVAL
    if review_due <= today:
        raise ValidationError("The next review date must be in the future.")
    if review_due > today + 2 * SHIELD_REVIEW_INTERVAL:
        raise ValidationError("The next review must be within a year.")
    previous = shield.review_due
    shield.review_due, shield.reviewed_at, shield.reviewed_by_id = review_due, timezone.now(), actor.user_id
    shield.save(update_fields=["review_due", "reviewed_at", "reviewed_by"])
    audit_record(
        event_type=EventType.SHIELD,
        actor=actor,
        child_ids=[shield.child.contactpoint_id],
        details={
            "action": "renewed",
            "previous_review_due": previous.isoformat(),
            "review_due": review_due.isoformat(),
        },
    )
    return shield


@transaction.atomic
def shield_end(*, shield: Shield, actor: Actor, reason: str) -> Shield:
    """End a shield: the child's full record is visible again as usual. The reason is kept."""
    _check_shielding_team(actor, shield)
    if not reason.strip():
        raise ValidationError("Give the reason the shield is no longer needed.")
    shield.ended_at, shield.ended_by_id, shield.end_reason = (
        timezone.now(),
        actor.user_id,
        reason.strip()[:500],
    )
    shield.save(update_fields=["ended_at", "ended_by", "end_reason"])
    audit_record(
        event_type=EventType.SHIELD,
        actor=actor,
        child_ids=[shield.child.contactpoint_id],
        reason=shield.end_reason,
        details={"action": "ended"},
    )
    _shield_event(shield, added=False)
    return shield


def _shield_event(shield: Shield, *, added: bool) -> None:
    shield_event_raise(shield=shield, added=added)


def shield_event_raise(*, shield: Shield, added: bool, possible_duplicate: bool = False) -> None:
    """Those working with the child learn that its record now shows less (or all again).

    A `possible_duplicate` shield (linkage's, until a reviewer decides) says the child may be a
    shielded child under a second ID: that event travels only to those who see through the shield.
    """
    from contactpoint.notifications.events import event_raise
    from contactpoint.notifications.models import EventKind

    details: dict[str, Any] = {"shielding_area": shield.local_authority_id}
    if possible_duplicate:
        details |= {"shield": shield.pk, "possible_duplicate": True}
    event_raise(
        kind=EventKind.SHIELD_ADDED if added else EventKind.SHIELD_REMOVED, child=shield.child_id, **details
    )


def shield_review_notify(*, shield: Shield) -> list[str]:
    """Tell the shielding authority's team a review is due, once per review date.

    Returns the addresses written to ([] when already told, or when nobody has an address), so the
    command that calls it daily stays quiet on its second run.
    """
    if shield.review_notified_for == shield.review_due:
        return []
    team = team_emails(local_authority_id=shield.local_authority_id)
    if not team:  # not marked: whoever joins the team with an address is told on the next run
        return []
    try:
        send_mail(
            f"ContactPoint: shield review due {shield.review_due:%d %B %Y}",
            f"The shield your authority placed on {shield.child.contactpoint_id} is due for review on "
            f"{shield.review_due:%d %B %Y}. Renew it with a new review date, or end it, under Shield "
            "reviews in ContactPoint. This message holds no child's details.",
            settings.DEFAULT_FROM_EMAIL,
            team,
        )
    except OSError:  # not marked either: the next run tries again
        logger.exception("could not e-mail the team about the review of shield %s", shield.pk)
        return []
    Shield.objects.filter(pk=shield.pk).update(review_notified_for=shield.review_due)
    shield.review_notified_for = shield.review_due
    return team


# The roles an authority's team may give: its own practitioners and its own team. National,
# data-management, audit and system roles are granted centrally (`contactpoint create_user`).
TEAM_GRANTABLE_ROLES = ("practitioner", "la_management")


@transaction.atomic
def team_user_create(
    *,
    actor: Actor,
    username: str,
    role_code: str,
    organisation_code: str,
    family_name: str = "",
    email: str = "",
) -> tuple[AbstractUser, str]:
    """An authority's team opens an account for someone in its own area.

    The rules of `contactpoint create_user`, narrowed to the team's reach: the account's area is
    the team's own, the organisation must already be an accredited one there (naming a new
    organisation accredits it, which is the operator's act, not the team's), and the role is one
    of TEAM_GRANTABLE_ROLES. Vetting is recorded afterwards with its real dates (vetting_record).
    """
    if not CAN_MANAGE_USERS.allows(actor):
        raise PermissionDenied(f"{actor.username} may not create accounts.")
    username = username.strip()
    if not username:
        raise ValidationError("Enter a username.")
    get_user_model().username_validator(username)
    if role_code not in TEAM_GRANTABLE_ROLES:
        raise ValidationError(f"Your team cannot give the {role_code!r} role; ask the national team.")
    area = actor.local_authority
    organisation = Organisation.objects.filter(
        Q(pk=area.pk) | Q(local_authority=area), code=organisation_code.strip(), accredited=True
    ).first()
    if organisation is None:
        raise ValidationError(
            f"No accredited organisation in {area.name} has the code {organisation_code.strip()!r}."
        )
    return user_create(
        username=username,
        role_code=role_code,
        organisation_code=organisation.code,
        local_authority_code=area.code,
        family_name=family_name,
        email=email,
        actor=actor,
    )


@transaction.atomic
def vetting_record(
    *,
    user_id: int,
    actor: Actor,
    dbs_checked_on: datetime.date,
    training_completed_on: datetime.date,
    agreement_signed_on: datetime.date,
    today: datetime.date | None = None,
) -> Profile:
    """Record (or renew) an account's vetting: the enhanced DBS check, training and agreement.

    Only the team of the account's own area may. A date in the future, or a DBS check that has
    already lapsed, is refused: either would record vetting the person does not have.
    """
    profile = Profile.objects.select_related("user", "local_authority").filter(user_id=user_id).first()
    if profile is None:
        raise ValidationError(f"No ContactPoint account has id {user_id}.")
    _check_manages(actor, profile)
    today = today or datetime.date.today()
    wanted = {
        "dbs_checked_on": dbs_checked_on,
        "training_completed_on": training_completed_on,
        "agreement_signed_on": agreement_signed_on,
    }
    if any(value > today for value in wanted.values()):
        raise ValidationError("Vetting dates must be today or in the past.")
    if dbs_checked_on + VETTING_VALID_FOR < today:
        raise ValidationError(
            "That DBS check is more than 3 years old and has lapsed: enter the date of a current check."
        )
    changed = {
        name: {
            "from": getattr(profile, name).isoformat() if getattr(profile, name) else None,
            "to": value.isoformat(),
        }
        for name, value in wanted.items()
        if getattr(profile, name) != value
    }
    if not changed:
        return profile
    for name, value in wanted.items():
        setattr(profile, name, value)
    profile.save(update_fields=list(wanted))
    audit_record(
        event_type=EventType.ROLE_OR_VETTING,
        actor=actor,
        details={"action": "vetting_recorded", "user_id": user_id, "changed": changed},
    )
    return profile
