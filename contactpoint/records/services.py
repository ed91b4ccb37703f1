"""Writes to the child record. Every value enters with its provenance, through a validated save.

Survivorship (which of several assertions the record shows) is one rule, used everywhere:
among the assertions a source has not superseded, the one from the most authoritative source
(lowest `Source.authority_rank`) wins; between equally authoritative ones, the most recently
asserted; then the most recently recorded. The others are kept, not deleted.
"""

import datetime
import functools
import hashlib
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from stdnum.iso7064 import mod_37_36

from . import statutory
from .models import (
    SENSITIVE_SERVICE_TYPES,
    Carer,
    Child,
    ChildAddress,
    ChildBirthDate,
    ChildGender,
    ChildIdentifier,
    ChildName,
    ChosenItem,
    EducationSetting,
    GPRegistration,
    Involvement,
    IssuedContactPointId,
    NameKind,
    Organisation,
    OrganisationKind,
    Practitioner,
    Source,
    SupplyObligation,
)
from .selectors import own_involvement_row, own_record_id, users_source_code

if TYPE_CHECKING:
    from contactpoint.access.actors import Actor

# Crockford's base32: no I, L, O or U, so an ID read aloud or retyped is not misread.
CONTACTPOINT_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CONTACTPOINT_ID_RANDOM_CHARS = 12  # 60 bits: guessing a live ID is hopeless even at national scale
CONTACTPOINT_ID_PREFIX = "CP"

ITEM_MODELS: Mapping[str, type[models.Model]] = {
    "ChildName": ChildName,
    "ChildGender": ChildGender,
    "ChildBirthDate": ChildBirthDate,
    "ChildAddress": ChildAddress,
    "ChildIdentifier": ChildIdentifier,
    "Carer": Carer,
    "EducationSetting": EducationSetting,
    "GPRegistration": GPRegistration,
    "Involvement": Involvement,
}
CHOSEN_ITEM_MODELS: tuple[type[ChosenItem], ...] = (ChildName, ChildGender, ChildBirthDate, ChildAddress)


@dataclass(frozen=True)
class Assertion:
    """Who says so: a source, its own record id, and when it said it."""

    source: Source
    source_record_id: str
    asserted_at: datetime.datetime

    def as_fields(self) -> dict[str, object]:
        return {
            "source": self.source,
            "source_record_id": self.source_record_id,
            "asserted_at": self.asserted_at,
        }


def contactpoint_id_generate() -> str:
    body = "".join(secrets.choice(CONTACTPOINT_ID_ALPHABET) for _ in range(CONTACTPOINT_ID_RANDOM_CHARS))
    return CONTACTPOINT_ID_PREFIX + body + mod_37_36.calc_check_digit(body)


def contactpoint_id_is_valid(value: str) -> bool:
    """Catches a mistyped ID before it is looked up (one wrong or swapped character)."""
    body = value.removeprefix(CONTACTPOINT_ID_PREFIX)
    return (
        value.startswith(CONTACTPOINT_ID_PREFIX)
        and len(body) == CONTACTPOINT_ID_RANDOM_CHARS + 1
        and all(ch in CONTACTPOINT_ID_ALPHABET for ch in body[:-1])
        and mod_37_36.is_valid(body)
    )


def contactpoint_id_issue(*, attempts: int = 5) -> str:
    """Issue an ID no child has ever had. The registry row is never deleted, even on destruction."""
    for _ in range(attempts):
        candidate = contactpoint_id_generate()
        try:
            with transaction.atomic():
                IssuedContactPointId.objects.create(value=candidate)
        except IntegrityError:
            continue
        return candidate
    raise RuntimeError("Could not issue an unused ContactPoint ID; the random source may be broken.")


def contactpoint_ids_issue(*, count: int, chunk: int = 5000) -> list[str]:
    """Issue many IDs at once (bulk loads): the same registry, never an ID issued before."""
    fresh: set[str] = set()
    while len(fresh) < count:
        candidates = {contactpoint_id_generate() for _ in range(count - len(fresh))} - fresh
        listed = list(candidates)
        for start in range(0, len(listed), chunk):
            taken = IssuedContactPointId.objects.filter(value__in=listed[start : start + chunk])
            candidates -= set(taken.values_list("value", flat=True))
        fresh |= candidates
    issued = sorted(fresh)
    IssuedContactPointId.objects.bulk_create(
        [IssuedContactPointId(value=v) for v in issued], batch_size=chunk
    )
    return issued


def _raises_child_events[**P, R](write: Callable[P, R]) -> Callable[P, R]:
    """Who works with the child and where it lives are compared before and after the write, and
    the differences become notification events in the same transaction (notifications.events)."""

    @functools.wraps(write)
    def watched(*args: P.args, **kwargs: P.kwargs) -> R:
        from contactpoint.notifications.events import changes_watched

        child = kwargs["child"]
        assert isinstance(child, Child)
        with changes_watched([child.pk]):
            return write(*args, **kwargs)

    return watched


def _save_validated[ItemT: models.Model](instance: ItemT) -> ItemT:
    """full_clean runs field validators, clean() (check digits) and the database constraints."""
    instance.full_clean()
    instance.save()
    return instance


def child_item_add(
    *, child: Child, assertion: Assertion, item: str, data: Mapping[str, object]
) -> models.Model:
    """Store one asserted value of a statutory item; anything outside the statutory list is refused."""
    statutory.reject_non_statutory(item, data)
    model = ITEM_MODELS[item]
    instance = model(child=child, **assertion.as_fields(), **data)
    return _save_validated(instance)


def survivor(assertions: Iterable[ChosenItem]) -> ChosenItem | None:
    """The survivorship rule in one place (see the module docstring)."""
    live = [a for a in assertions if a.superseded_at is None and _choosable(a)]
    if not live:
        return None
    return min(
        live,
        key=lambda a: survivor_order(
            authority_rank=a.source.authority_rank,
            asserted_at=a.asserted_at,
            recorded_at=a.recorded_at,
            pk=a.pk,
        ),
    )


def survivor_order(
    *,
    authority_rank: int,
    asserted_at: datetime.datetime,
    recorded_at: datetime.datetime | None = None,
    pk: int | None = None,
) -> tuple[float, ...]:
    """The survivorship order (lowest wins), shared with bulk paths that hold rows, not instances."""
    return (
        authority_rank,
        -asserted_at.timestamp(),
        -(recorded_at.timestamp() if recorded_at else 0),
        -(pk or 0),
    )


def _choosable(assertion: ChosenItem) -> bool:
    return not isinstance(assertion, ChildName) or assertion.kind == NameKind.CURRENT


@transaction.atomic
def child_values_choose(*, child: Child) -> dict[str, ChosenItem | None]:
    """Re-apply survivorship to every single-valued item of one child."""
    chosen: dict[str, ChosenItem | None] = {}
    for model in CHOSEN_ITEM_MODELS:
        rows: Sequence[ChosenItem] = list(model._default_manager.filter(child=child).select_related("source"))
        winner = survivor(rows)
        model._default_manager.filter(child=child, is_chosen=True).exclude(
            pk=winner.pk if winner else None
        ).update(is_chosen=False)
        if winner is not None and not winner.is_chosen:
            model._default_manager.filter(pk=winner.pk).update(is_chosen=True)
        chosen[model.__name__] = winner
    return chosen


@transaction.atomic
def assertion_supersede(*, source: Source, source_record_id: str, at: datetime.datetime) -> int:
    """A source replaced or withdrew its record: its values become history, never deleted."""
    count, children = assertions_supersede(source_id=source.pk, source_record_ids=[source_record_id], at=at)
    for child in Child.objects.filter(pk__in=children):
        child_values_choose(child=child)
    return count


def assertions_supersede(
    *, source_id: int, source_record_ids: Sequence[str], at: datetime.datetime, chunk: int = 2000
) -> tuple[int, set[int]]:
    """Mark what these records of one source assert as history. Returns (rows, children touched).

    Callers re-apply survivorship for the children, now or after adding the records' new values.
    """
    count = 0
    children: set[int] = set()
    for model in ITEM_MODELS.values():
        unchoose = {"is_chosen": False} if issubclass(model, ChosenItem) else {}
        for start in range(0, len(source_record_ids), chunk):
            current = model._default_manager.filter(
                source_id=source_id,
                source_record_id__in=source_record_ids[start : start + chunk],
                superseded_at__isnull=True,
            )
            children.update(current.values_list("child_id", flat=True))
            count += current.update(superseded_at=at, **unchoose)
    return count, children


@transaction.atomic
def organisations_load(*, rows: Iterable[Mapping[str, str]]) -> tuple[int, int]:
    """Load an organisations register (kind, code, name, local authority code, contacts); idempotent.

    Local authorities go first so every other organisation can name its area. Returns
    (created, updated).
    """
    rows = sorted(rows, key=lambda r: r["kind"] != OrganisationKind.LOCAL_AUTHORITY)
    existing = {(o.kind, o.code): o for o in Organisation.objects.all()}
    created = updated = 0
    for row in rows:
        fields = {
            "name": row["name"],
            "phone": row.get("phone", ""),
            "email": row.get("email", ""),
            "town": row.get("town", ""),
            "postcode": row.get("postcode", ""),
            "accredited": True,
        }
        la_code = row.get("local_authority_code", "")
        if row["kind"] != OrganisationKind.LOCAL_AUTHORITY and la_code:
            fields["local_authority"] = existing[(OrganisationKind.LOCAL_AUTHORITY, la_code)]
        organisation = existing.get((row["kind"], row["code"]))
        if organisation is None:
            organisation = Organisation(kind=row["kind"], code=row["code"], **fields)
            _save_validated(organisation)
            existing[(organisation.kind, organisation.code)] = organisation
            created += 1
        elif any(getattr(organisation, k) != v for k, v in fields.items()):
            for key, value in fields.items():
                setattr(organisation, key, value)
            _save_validated(organisation)
            updated += 1
    return created, updated


def declared_row_sync[M: models.Model](*, model: type[M], key: dict[str, Any], wanted: dict[str, Any]) -> str:
    """Make one row match its declaration (roles, sources): 'created', 'updated' or 'unchanged'."""
    row, created = model._default_manager.get_or_create(**key, defaults=wanted)
    if created:
        return "created"
    if any(getattr(row, name) != value for name, value in wanted.items()):
        model._default_manager.filter(pk=row.pk).update(**wanted)
        return "updated"
    return "unchanged"


@dataclass(frozen=True)
class InvolvementAnswers:
    """What a practitioner says about their own work with a child."""

    service_type: str
    start_date: datetime.date
    job_title: str = ""
    phone: str = ""
    email: str = ""
    is_lead_professional: bool = False
    has_caf: bool = False


def _users_source(organisation: Organisation) -> Source:
    """What users record themselves is asserted by their organisation's 'ContactPoint users' source."""
    source, _ = Source.objects.get_or_create(
        code=users_source_code(organisation),
        defaults={
            "name": f"ContactPoint users at {organisation.name}",
            "organisation": organisation,
            "obligation": SupplyObligation.MAY,
            "authority_rank": 20,  # a practitioner's own word about their own work outranks feeds
        },
    )
    return source


def _may_record(actor: "Actor") -> None:
    from contactpoint.access.permissions import RECORD_INVOLVEMENT

    if not actor.can(RECORD_INVOLVEMENT):
        raise PermissionDenied(f"The {actor.role} role cannot record involvements.")


def _practitioner_for(actor: "Actor", source: Source, answers: InvolvementAnswers) -> Practitioner:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(pk=actor.user_id)
    practitioner, _ = Practitioner.objects.update_or_create(
        source=source,
        source_record_id=f"user-{actor.user_id}",
        defaults={
            "organisation": actor.organisation,
            "given_name": getattr(user, "first_name", "") or actor.username,
            "family_name": getattr(user, "last_name", "") or "",
            "job_title": answers.job_title,
            "phone": answers.phone,
            "email": answers.email,
            "asserted_at": timezone.now(),
        },
    )
    return practitioner


def _check_lead(child: Child, answers: InvolvementAnswers, own: Involvement | None) -> None:
    if not answers.is_lead_professional:
        return
    leads = Involvement.objects.filter(
        child=child, is_lead_professional=True, end_date__isnull=True, superseded_at__isnull=True
    )
    if own is not None:
        leads = leads.exclude(pk=own.pk)
    other_lead = leads.select_related("organisation").first()
    if other_lead is not None:
        raise ValidationError(
            f"{other_lead.organisation.name} is already recorded as this child's lead professional. "
            "Agree a change with them; they end their role before you take it on."
        )


@_raises_child_events
@transaction.atomic
def own_involvement_save(*, actor: "Actor", child: Child, answers: InvolvementAnswers) -> Involvement:
    """Record, or change, the actor's own involvement with a child (flags included), audited.

    The earlier assertion is superseded, not edited, so the record keeps what was said before.
    """
    from contactpoint.audit.models import EventType
    from contactpoint.audit.services import audit_record

    _may_record(actor)
    if answers.service_type in SENSITIVE_SERVICE_TYPES:
        raise ValidationError(
            "Mental health, sexual health and substance misuse services are recorded by the providing "
            "service, with the basis for recording them."
        )
    own = own_involvement_row(actor=actor, child=child)
    _check_lead(child, answers, own)
    source = _users_source(actor.organisation)
    now = timezone.now()
    if own is not None:
        Involvement.objects.filter(pk=own.pk).update(superseded_at=now)
    involvement = _save_validated(
        Involvement(
            child=child,
            source=source,
            source_record_id=own_record_id(actor, child),
            asserted_at=now,
            organisation=actor.organisation,
            service_type=answers.service_type,
            practitioner=_practitioner_for(actor, source, answers),
            start_date=answers.start_date,
            has_caf=answers.has_caf,
            is_lead_professional=answers.is_lead_professional,
        )
    )
    audit_record(
        event_type=EventType.CHANGE,
        actor=actor,
        child_ids=[child.contactpoint_id],
        details={
            "action": "involvement_changed" if own else "involvement_added",
            "service_type": answers.service_type,
            "lead_professional": answers.is_lead_professional,
            "caf": answers.has_caf,
        },
    )
    return involvement


@_raises_child_events
@transaction.atomic
def own_involvement_end(*, actor: "Actor", child: Child, end_date: datetime.date) -> Involvement:
    """End the actor's own involvement on a date; a lead professional role ends with it."""
    from contactpoint.audit.models import EventType
    from contactpoint.audit.services import audit_record

    _may_record(actor)
    own = own_involvement_row(actor=actor, child=child)
    if own is None or own.end_date is not None:
        raise ValidationError("You have no current involvement with this child to end.")
    if own.start_date and end_date < own.start_date:
        raise ValidationError(f"The end date must be on or after the start date, {own.start_date:%d %B %Y}.")
    Involvement.objects.filter(pk=own.pk).update(superseded_at=timezone.now())
    own.pk = None
    own.superseded_at = None
    own.asserted_at = timezone.now()
    own.end_date = end_date
    own.is_lead_professional = False
    ended = _save_validated(own)
    audit_record(
        event_type=EventType.CHANGE,
        actor=actor,
        child_ids=[child.contactpoint_id],
        details={"action": "involvement_ended", "end_date": end_date.isoformat()},
    )
    return ended


# Changes practitioners report through the index (the API). The reporting organisation is a source
# like any feed: its values carry provenance and take their turn in survivorship.


class ChangeConflict(Exception):
    """The change contradicts the record as it stands (a second lead professional, say)."""


class StaleChange(Exception):
    """The caller's copy is out of date: the involvement changed after they read it."""


def organisation_source(*, organisation: Organisation) -> Source:
    """The source an organisation's users speak as, shared by the pages and the API."""
    return _users_source(organisation)


def involvement_version(involvement: Involvement) -> str:
    """A fingerprint of everything a change could alter: the ETag callers send back with If-Match."""
    state = (
        involvement.pk,
        involvement.start_date,
        involvement.end_date,
        involvement.has_caf,
        involvement.is_lead_professional,
        involvement.practitioner_id,
        involvement.superseded_at,
    )
    return hashlib.sha256(repr(state).encode()).hexdigest()[:32]


def _another_lead(child: Child, *, excluding: int | None = None) -> bool:
    leads = Involvement.objects.filter(
        child=child, is_lead_professional=True, end_date__isnull=True, superseded_at__isnull=True
    )
    if excluding is not None:
        leads = leads.exclude(pk=excluding)
    return leads.exists()


def _lead_conflict() -> ChangeConflict:
    return ChangeConflict(
        "Another practitioner is already the child's lead professional; they must end that role first."
    )


@_raises_child_events
@transaction.atomic
def involvement_start(
    *,
    child: Child,
    organisation: Organisation,
    source: Source,
    service_type: str,
    start_date: datetime.date,
    practitioner: Mapping[str, str] | None = None,
    sensitive_basis: str = "",
    has_caf: bool = False,
    is_lead_professional: bool = False,
) -> Involvement:
    """Record that an organisation (and, if named, its practitioner) now works with the child."""
    if is_lead_professional and _another_lead(child):
        raise _lead_conflict()
    assertion = Assertion(source, f"involvement-{uuid.uuid4().hex}", timezone.now())
    worker = None
    if practitioner:
        worker = _save_validated(
            Practitioner(organisation=organisation, **assertion.as_fields(), **practitioner)
        )
    data = {
        "organisation": organisation,
        "service_type": service_type,
        "practitioner": worker,
        "start_date": start_date,
        "is_sensitive": service_type in SENSITIVE_SERVICE_TYPES,
        "sensitive_basis": sensitive_basis if service_type in SENSITIVE_SERVICE_TYPES else "",
        "has_caf": has_caf,
        "is_lead_professional": is_lead_professional,
    }
    try:
        with transaction.atomic():
            involvement = child_item_add(child=child, assertion=assertion, item="Involvement", data=data)
    except IntegrityError as exc:  # a lead recorded by someone else a moment ago
        raise _lead_conflict() from exc
    assert isinstance(involvement, Involvement)
    return involvement


@_raises_child_events
@transaction.atomic
def involvement_change(
    *,
    child: Child,
    involvement_id: int,
    source: Source,
    expected_version: str,
    changes: Mapping[str, object],
) -> tuple[Involvement, dict[str, tuple[object, object]]]:
    """End an involvement, make it lead, or record a CAF. Returns it and what changed (old, new).

    Only what the organisation recorded through the index can be changed here: a feed's
    involvement is changed by that feed, or the next load would silently undo the change.
    """
    involvement = (
        Involvement.objects.select_for_update()
        .filter(pk=involvement_id, child=child, superseded_at__isnull=True)
        .first()
    )
    if involvement is None:
        raise Involvement.DoesNotExist(f"No current involvement {involvement_id} for this child.")
    if involvement.organisation_id != source.organisation_id:
        raise PermissionDenied("Only the organisation working with the child may change its involvement.")
    if involvement.source_id != source.pk:
        raise ChangeConflict(
            "This involvement was supplied by a feed; ask that system to change it, so a later load "
            "does not undo the change."
        )
    if involvement_version(involvement) != expected_version:
        raise StaleChange("The involvement has changed since it was read; read it again and retry.")
    if involvement.end_date is not None and involvement.end_date <= datetime.date.today():
        raise ChangeConflict("The involvement has ended; record a new one instead.")
    if changes.get("is_lead_professional") and _another_lead(child, excluding=involvement.pk):
        raise _lead_conflict()
    changed = {k: (getattr(involvement, k), v) for k, v in changes.items() if getattr(involvement, k) != v}
    for name, (_, new) in changed.items():
        setattr(involvement, name, new)
    try:
        with transaction.atomic():
            _save_validated(involvement)
    except IntegrityError as exc:
        raise _lead_conflict() from exc
    return involvement, changed


@_raises_child_events
@transaction.atomic
def address_report(*, child: Child, source: Source, data: Mapping[str, object]) -> tuple[ChildAddress, bool]:
    """An organisation reports where the child now lives. Returns the assertion and whether the
    record now shows it (a more authoritative source may still win, by the survivorship rule).

    The organisation's earlier report for this child becomes history: one live report per source.
    """
    record_id = f"address-{child.contactpoint_id}"
    now = timezone.now()
    ChildAddress.objects.filter(
        child=child, source=source, source_record_id=record_id, superseded_at__isnull=True
    ).update(superseded_at=now, is_chosen=False)
    address = child_item_add(
        child=child, assertion=Assertion(source, record_id, now), item="ChildAddress", data=data
    )
    assert isinstance(address, ChildAddress)
    chosen = child_values_choose(child=child)["ChildAddress"]
    return address, chosen is not None and chosen.pk == address.pk
