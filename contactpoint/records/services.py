"""Writes to the child record. Every value enters with its provenance, through a validated save.

Survivorship (which of several assertions the record shows) is one rule, used everywhere:
among the assertions a source has not superseded, the one from the most authoritative source
(lowest `Source.authority_rank`) wins; between equally authoritative ones, the most recently
asserted; then the most recently recorded. The others are kept, not deleted.
"""

import dataclasses
import datetime
import functools
import json
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, models, transaction
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
    SensitiveBasis,
    Source,
    SupplyObligation,
)
from .selectors import (
    involvement_live_successor,
    involvement_version,
    own_involvement_row,
    own_record_id,
    users_source_code,
)

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
    """60 random bits, five to a character of the 32-letter alphabet: one draw from the system's
    random source per ID (a draw per character made issuing a million IDs take seconds)."""
    bits = secrets.randbits(5 * CONTACTPOINT_ID_RANDOM_CHARS)
    body = "".join(CONTACTPOINT_ID_ALPHABET[(bits >> shift) & 31] for shift in _SHIFTS)
    return CONTACTPOINT_ID_PREFIX + body + mod_37_36.calc_check_digit(body)


_SHIFTS = tuple(range(0, 5 * CONTACTPOINT_ID_RANDOM_CHARS, 5))


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
    issued: list[str] = []
    now = timezone.now()
    while len(issued) < count:
        drawn = [contactpoint_id_generate() for _ in range(min(chunk, count - len(issued)))]
        with connection.cursor() as cursor:
            issued += _register(cursor, drawn, now)
    return sorted(issued)


def children_issue(*, count: int, chunk: int = 5000) -> list[int]:
    """New children, each with an ID never issued before; returns their primary keys, ascending.

    A batch is one statement on PostgreSQL (register the drawn IDs, keep those the registry did
    not already hold, create a child for each) and two on SQLite, whatever its size: creating
    children one instance at a time was most of a first link's cost of assigning children. An ID
    drawn twice is simply drawn again; registry and children commit or roll back together.
    """
    created: list[int] = []
    now = timezone.now()
    while len(created) < count:
        drawn = [contactpoint_id_generate() for _ in range(min(chunk, count - len(created)))]
        created += _children_insert(drawn, now)
    return sorted(created)


def _children_insert(drawn: list[str], now: datetime.datetime) -> list[int]:
    child = connection.ops.quote_name(Child._meta.db_table)
    created_at = Child._meta.get_field("created_at").get_db_prep_save(now, connection)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH issued AS ({_register_sql()}) INSERT INTO {child} (contactpoint_id, created_at) "  # noqa: S608
                "SELECT value, %s FROM issued RETURNING id",
                [*_register_params(drawn, now), created_at],
            )
            return [pk for (pk,) in cursor.fetchall()]
        cursor.execute(
            f"INSERT INTO {child} (contactpoint_id, created_at) "  # noqa: S608
            "SELECT value, %s FROM json_each(%s) RETURNING id",
            [created_at, json.dumps(_register(cursor, drawn, now))],
        )
        return [pk for (pk,) in cursor.fetchall()]


def _register(cursor: Any, drawn: list[str], now: datetime.datetime) -> list[str]:
    """The drawn IDs the registry did not hold, now registered."""
    cursor.execute(_register_sql(), _register_params(drawn, now))
    return [value for (value,) in cursor.fetchall()]


def _register_sql() -> str:
    """Register drawn IDs; returns those new to the registry (the drawn IDs are one parameter)."""
    registry = connection.ops.quote_name(IssuedContactPointId._meta.db_table)
    drawn = "unnest(%s::text[]) AS drawn(value)" if connection.vendor == "postgresql" else "json_each(%s)"
    # `WHERE true` tells SQLite's parser that ON CONFLICT is the upsert clause, not a join's ON.
    return (
        f"INSERT INTO {registry} (value, issued_at) SELECT value, %s FROM {drawn} WHERE true "  # noqa: S608
        "ON CONFLICT (value) DO NOTHING RETURNING value"
    )


def _register_params(drawn: list[str], now: datetime.datetime) -> list[Any]:
    issued_at = IssuedContactPointId._meta.get_field("issued_at").get_db_prep_save(now, connection)
    return [issued_at, drawn if connection.vendor == "postgresql" else json.dumps(drawn)]


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


def identifiers_rekey(*, batch_size: int = 2000) -> int:
    """Every identifier's blind key again under the newest index key (index key rotation): the
    values are opened batch by batch with their children's keys, blinded, and only the blind
    column is written. Returns how many were re-keyed."""
    from . import sealed

    done = last = 0
    while batch := sealed.values_opened(
        ChildIdentifier.objects.filter(pk__gt=last).order_by("pk"), "scheme", "scheme_name", limit=batch_size
    ):
        rows = [ChildIdentifier(pk=row["pk"], **ChildIdentifier.clear_parts(row)) for row in batch]
        ChildIdentifier.objects.bulk_update(rows, ["blind_value"])
        done += len(rows)
        last = batch[-1]["pk"]
    return done


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


def involvement_role_refusal(actor: "Actor") -> str:
    """Why the actor's role may not record involvements at all ("" when it may): a refusal that
    holds for every child, so callers can give it before looking the child up."""
    from contactpoint.access.permissions import RECORD_INVOLVEMENT

    return "" if actor.can(RECORD_INVOLVEMENT) else f"The {actor.role} role cannot record involvements."


def _may_record(actor: "Actor") -> None:
    if refusal := involvement_role_refusal(actor):
        raise PermissionDenied(refusal)


@dataclass(frozen=True)
class InvolvementAnswers:
    """What a practitioner says about their own work with a child, on the pages' question page."""

    service_type: str
    start_date: datetime.date
    job_title: str = ""
    phone: str = ""
    email: str = ""
    is_lead_professional: bool = False
    has_caf: bool = False

    def as_changes(self) -> dict[str, object]:
        """The whole statement: a save from the pages restates everything, and clears an end date."""
        return {**dataclasses.asdict(self), "end_date": None}


# Recording, changing and ending a user's own involvement: the pages and the API call the same
# service (ADR 0014). One live involvement per user and child, asserted by the organisation's
# users' source; every change supersedes the live row with a new one, so history is kept.

INVOLVEMENT_FIELDS = (
    "service_type",
    "start_date",
    "end_date",
    "sensitive_basis",
    "has_caf",
    "is_lead_professional",
)
CONTACT_FIELDS = ("given_name", "family_name", "job_title", "phone", "email")
SENSITIVE_REFUSAL = (
    "Mental health, sexual health and substance misuse services are recorded by the providing "
    "service, with the basis for recording them (the child's consent, or significant harm)."
)


class ChangeConflict(Exception):
    """The change contradicts the record as it stands (a second lead professional, say)."""


class StaleChange(Exception):
    """The caller's copy is out of date: the involvement changed after they read it."""


@dataclass(frozen=True)
class RecordedInvolvement:
    """What a recording did: the live involvement, the row it superseded, and the fields changed."""

    involvement: Involvement
    superseded: int | None
    changed: tuple[str, ...]
    action: str


def organisation_source(*, organisation: Organisation) -> Source:
    """The source an organisation's users speak as, shared by the pages and the API."""
    return _users_source(organisation)


def involvement_dates_check(start_date: datetime.date | None, end_date: datetime.date | None) -> None:
    """An involvement cannot end before it started (the pages ask this early, the service always)."""
    if start_date and end_date and end_date < start_date:
        raise ValidationError(
            f"The end date must be on or after the start date, {start_date.day} {start_date:%B %Y}."
        )


def _is_current(involvement: Involvement | None, today: datetime.date) -> bool:
    return involvement is not None and (involvement.end_date is None or involvement.end_date > today)


def _addressed(actor: "Actor", child: Child, involvement_id: int, live: Involvement | None) -> None:
    """The involvement a caller names by id must resolve to the actor's own live involvement."""
    target = involvement_live_successor(child=child, involvement_id=involvement_id)
    if target is None:
        raise Involvement.DoesNotExist(f"No involvement {involvement_id} for this child.")
    if target.organisation_id != actor.organisation.pk:
        raise PermissionDenied("Only the organisation working with the child may change its involvement.")
    if target.source.code != users_source_code(actor.organisation):
        raise ChangeConflict(
            "This involvement was supplied by a feed; ask that system to change it, so a later load "
            "does not undo the change."
        )
    if live is None or target.pk != live.pk:
        raise PermissionDenied("This involvement is another practitioner's; only they may change it.")


def _checked_version(live: Involvement | None, expected_version: str | None, today: datetime.date) -> None:
    """None: the caller starts an involvement, so none may be current. Else the version they read."""
    if expected_version is None:
        if live is not None and _is_current(live, today):
            raise ChangeConflict(
                f"You already record an involvement with this child (id {live.pk}); change it, "
                "sending the version you read, instead of starting another."
            )
    elif involvement_version(live) != expected_version:
        raise StaleChange("This involvement changed since you started; read it again and retry.")


def _state_after(base: Involvement | None, changes: Mapping[str, object]) -> dict[str, Any]:
    """The involvement's fields once the changes apply, with the rules that hold for every path."""
    unknown = set(changes) - set(INVOLVEMENT_FIELDS) - set(CONTACT_FIELDS)
    if unknown:
        raise ValueError(f"Not fields of an involvement: {sorted(unknown)}")
    if base is None and "service_type" not in changes:
        raise ChangeConflict("You have no current involvement with this child; record a new one.")
    state: dict[str, Any] = {name: getattr(base, name) if base else None for name in INVOLVEMENT_FIELDS}
    state.update({k: v for k, v in changes.items() if k in INVOLVEMENT_FIELDS})
    state["has_caf"] = bool(state["has_caf"])
    state["is_sensitive"] = state["service_type"] in SENSITIVE_SERVICE_TYPES
    if not state["is_sensitive"]:
        state["sensitive_basis"] = ""
    elif state["sensitive_basis"] not in SensitiveBasis.values:
        raise ValidationError(SENSITIVE_REFUSAL)
    if state["end_date"] is not None:
        if changes.get("is_lead_professional"):
            raise ValidationError("An involvement that ends cannot take on the lead professional role.")
        state["is_lead_professional"] = False  # a lead professional role ends with the involvement
    state["is_lead_professional"] = bool(state["is_lead_professional"])
    involvement_dates_check(state["start_date"], state["end_date"])
    return state


def _check_one_lead(child: Child, state: Mapping[str, Any], live: Involvement | None) -> None:
    if not state["is_lead_professional"]:
        return
    leads = Involvement.objects.filter(
        child=child, is_lead_professional=True, end_date__isnull=True, superseded_at__isnull=True
    )
    if live is not None:
        leads = leads.exclude(pk=live.pk)
    other = leads.select_related("organisation").first()
    if other is not None:
        raise _lead_conflict(other)


def _lead_conflict(other: Involvement | None) -> ChangeConflict:
    """Names the other lead's organisation unless that would tell of a sensitive service."""
    who = other.organisation.name if other is not None and not other.is_sensitive else "Another service"
    return ChangeConflict(
        f"{who} is already recorded as this child's lead professional. Agree a change with them; "
        "they end their role before you take it on."
    )


def _contact_after(actor: "Actor", base: Involvement | None, changes: Mapping[str, object]) -> dict[str, str]:
    """The practitioner's name and contact details: the account's names unless the caller gives
    others; contact details kept from before unless changed."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(pk=actor.user_id)
    own = Practitioner.objects.filter(
        source__code=users_source_code(actor.organisation), source_record_id=f"user-{actor.user_id}"
    ).first()
    before = (base.practitioner if base else None) or own
    contact = {
        "given_name": getattr(user, "first_name", "") or actor.username,
        "family_name": getattr(user, "last_name", "") or "",
        "job_title": "",
        "phone": "",
        "email": "",
    }
    if before is not None:
        contact.update({name: getattr(before, name) for name in CONTACT_FIELDS})
    for name in CONTACT_FIELDS:
        if name in changes and (changes[name] or name not in ("given_name", "family_name")):
            contact[name] = str(changes[name] or "")
    return contact


def _practitioner_for(actor: "Actor", source: Source, contact: Mapping[str, str]) -> Practitioner:
    """One practitioner row per user, kept up to date: the person others are told to contact."""
    practitioner, _ = Practitioner.objects.update_or_create(
        source=source,
        source_record_id=f"user-{actor.user_id}",
        defaults={"organisation": actor.organisation, "asserted_at": timezone.now(), **contact},
    )
    return practitioner


def _changed(
    base: Involvement | None, state: Mapping[str, Any], contact: Mapping[str, str]
) -> tuple[str, ...]:
    if base is None:
        return tuple(sorted(set(INVOLVEMENT_FIELDS) - {"sensitive_basis"} | {"practitioner"}))
    fields = [name for name in INVOLVEMENT_FIELDS if getattr(base, name) != state[name]]
    before = base.practitioner
    if before is None or any(getattr(before, k, "") != v for k, v in contact.items()):
        fields.append("practitioner")
    return tuple(sorted(fields))


@_raises_child_events
@transaction.atomic
def _own_involvement_write(
    *,
    actor: "Actor",
    child: Child,
    changes: Mapping[str, object],
    expected_version: str | None,
    involvement_id: int | None,
    reason: str,
) -> RecordedInvolvement:
    from contactpoint.audit.models import EventType
    from contactpoint.audit.services import audit_record

    _may_record(actor)
    list(Child.objects.select_for_update().filter(pk=child.pk).values_list("pk"))  # one writer per child
    from contactpoint.retention.selectors import changes_refused_if_archived

    changes_refused_if_archived(child.pk)
    today = timezone.localdate()
    live = own_involvement_row(actor=actor, child=child)
    if involvement_id is not None:
        _addressed(actor, child, involvement_id, live)
    _checked_version(live, expected_version, today)
    base = live if _is_current(live, today) else None
    if involvement_id is not None and base is None:
        raise ChangeConflict("The involvement has ended; record a new one instead.")
    state = _state_after(base, changes)
    _check_one_lead(child, state, live)
    contact = _contact_after(actor, base, changes)
    changed = _changed(base, state, contact)
    if base is not None and not changed:
        recorded = RecordedInvolvement(base, None, (), "involvement_unchanged")
    else:
        recorded = _supersede(actor, child, live, state, contact, changed, started=base is None)
    audit_record(
        event_type=EventType.CHANGE,
        actor=actor,
        child_ids=[child.contactpoint_id],
        reason=reason.strip(),
        details={
            "action": recorded.action,
            "involvement": recorded.involvement.pk,
            "superseded": recorded.superseded,
            "changed": list(recorded.changed),
            "service_type": recorded.involvement.service_type,
        },
    )
    return recorded


def _supersede(
    actor: "Actor",
    child: Child,
    live: Involvement | None,
    state: Mapping[str, Any],
    contact: Mapping[str, str],
    changed: tuple[str, ...],
    *,
    started: bool,
) -> RecordedInvolvement:
    """The live row becomes history and a new row carries the change: nothing is edited in place."""
    source = _users_source(actor.organisation)
    now = timezone.now()
    if live is not None:
        Involvement.objects.filter(pk=live.pk).update(superseded_at=now)
    try:
        with transaction.atomic():
            involvement = _save_validated(
                Involvement(
                    child=child,
                    source=source,
                    source_record_id=own_record_id(actor, child),
                    asserted_at=now,
                    organisation=actor.organisation,
                    practitioner=_practitioner_for(actor, source, contact),
                    **state,
                )
            )
    except IntegrityError as exc:  # a lead recorded by someone else a moment ago
        raise _lead_conflict(None) from exc
    action = "involvement_started" if started else "involvement_changed"
    if not started and "end_date" in changed and involvement.end_date is not None:
        action = "involvement_ended"
    return RecordedInvolvement(involvement, live.pk if live else None, changed, action)


def own_involvement_record(
    *,
    actor: "Actor",
    child: Child,
    changes: Mapping[str, object],
    expected_version: str | None,
    involvement_id: int | None = None,
    reason: str = "",
) -> RecordedInvolvement:
    """Record, change or end the actor's own involvement with a child: the one write both the pages
    and the API use, with its rules, its audit event and its notification events.

    `expected_version` is the version the caller read (`involvement_version`, "" when there was
    none), or None to start an involvement, which is refused while one is current. `changes` maps
    involvement and contact fields to their new values; a start gives at least the service and
    start date. `involvement_id` is the id the API was called with: it must resolve to the actor's
    own live involvement. A refusal is audited too, outside the rolled-back change.
    """
    try:
        return _own_involvement_write(
            actor=actor,
            child=child,
            changes=changes,
            expected_version=expected_version,
            involvement_id=involvement_id,
            reason=reason,
        )
    except (PermissionDenied, ValidationError, ChangeConflict, StaleChange) as refusal:
        _refusal_audit(actor, child, reason, refusal)
        raise


def _refusal_audit(actor: "Actor", child: Child, reason: str, refusal: Exception) -> None:
    from contactpoint.audit.models import EventType, Outcome
    from contactpoint.audit.services import audit_record

    audit_record(
        event_type=EventType.CHANGE,
        outcome=Outcome.DENIED,
        actor=actor,
        child_ids=[child.contactpoint_id],
        reason=reason.strip(),
        details={"action": "involvement_recorded", "refused": str(refusal)[:200]},
    )


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
