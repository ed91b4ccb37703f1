"""The one door to a child's data.

Every view, API, export and command that shows a child's record gets it from `child_record_for`,
which decides — for this actor and this child — which fields may be seen: statutory items only,
identifiers only to the body that issued them, sensitive services only as their basis allows,
and a shielded child's hidden fields to nobody but its authority's team (or a break-glass
override). What comes out is plain data with nothing hidden left in it, so no template or
serializer can leak what the rules withheld.
"""

import datetime
import functools
import json
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, OuterRef, Q, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import JSONObject
from django.utils import timezone

from contactpoint.audit.models import EventType, Outcome
from contactpoint.audit.services import audit_record
from contactpoint.compiled import prepared_cursor
from contactpoint.records import sealed
from contactpoint.records.models import (
    Carer,
    Child,
    ChildAddress,
    ChildBirthDate,
    ChildGender,
    ChildIdentifier,
    ChildName,
    EducationSetting,
    GPRegistration,
    Involvement,
    NameKind,
    Organisation,
    Practitioner,
    SensitiveBasis,
)
from contactpoint.records.selectors import involvement_version
from contactpoint.retention.models import ChildDataKey
from contactpoint.retention.selectors import (
    ChildArchived,
    archive_access,
    archive_access_on,
    archive_hidden_from,
    archived_on_query,
)

from . import permissions as p
from .actors import Actor
from .models import BreakGlassAlert, Shield
from .policies import HasPermission, Where, in_own_area, responsible_for_child

CAN_VIEW = HasPermission(p.VIEW_CHILD_RECORD)
CAN_SEARCH = HasPermission(p.SEARCH_CHILDREN)
SEES_THROUGH_SHIELD = HasPermission(p.VIEW_SHIELDED_RECORDS) & Where(in_own_area)
MAY_BREAK_GLASS = HasPermission(p.BREAK_GLASS)
RESPONSIBLE_TEAM = Where(responsible_for_child)


@dataclass(frozen=True)
class NameView:
    given_name: str
    middle_names: str
    family_name: str


@dataclass(frozen=True)
class ContactView:
    name: str
    phone: str = ""
    email: str = ""
    address: str = ""
    title: str = ""
    kind: str = ""  # for organisations: their kind and register code (LA number, URN, ODS code)
    code: str = ""


@dataclass(frozen=True)
class CarerView:
    given_name: str
    family_name: str
    relationship: str = ""
    has_parental_responsibility: bool | None = None
    contact: ContactView | None = None  # None when shielded: carers' names only


@dataclass(frozen=True)
class SettingView:
    organisation: ContactView
    start_date: datetime.date | None
    end_date: datetime.date | None = None


@dataclass(frozen=True)
class InvolvementView:
    organisation: ContactView
    service_type: str
    practitioner: ContactView | None
    start_date: datetime.date | None
    end_date: datetime.date | None
    is_sensitive: bool
    has_caf: bool
    is_lead_professional: bool
    id: int = 0  # the involvement's reference, for changing it (it reveals nothing by itself)
    version: str = ""  # changes whenever the involvement does: the API's ETag


@dataclass(frozen=True)
class ChildRecordView:
    contactpoint_id: str
    shielded: bool  # the child is shielded (the actor may still see through it)
    restricted: bool  # this view leaves the shield's hidden fields out
    name: NameView | None
    former_names: list[NameView]
    gender: str
    date_of_birth: datetime.date | None
    address: dict[str, str] | None = None
    identifiers: list[tuple[str, str]] = field(default_factory=list)
    carers: list[CarerView] = field(default_factory=list)
    schools: list[SettingView] = field(default_factory=list)
    gp_practices: list[SettingView] = field(default_factory=list)
    involvements: list[InvolvementView] = field(default_factory=list)


def restricted_for(actor: Actor, child: Child) -> bool:
    """Whether this actor's view of the child leaves the shield's hidden fields out (no audit: no data)."""
    shield = Shield.objects.filter(child=child, ended_at__isnull=True).first()
    return shield is not None and not SEES_THROUGH_SHIELD.allows(actor, shield)


def child_record_for(
    actor: Actor, child: Child, *, reason: str, break_glass: bool = False, archive_basis: str = ""
) -> ChildRecordView:
    """The record as this actor may see it. A stated reason is required before any record opens;
    an archived record also needs the actor's archive access and, after its first year, a ground
    (`archive_basis`: retention.policy.ArchiveAccessBasis), which the audit event records.

    The view and its audit event are written in one transaction: no audit, no data. A refusal is
    audited too (it survives unless an enclosing transaction rolls back).
    """
    event = EventType.BREAK_GLASS if break_glass else EventType.VIEW
    try:
        with transaction.atomic():
            gate = _gate(child.pk)
            archive = archive_access_on(actor, gate.archived_on, basis=archive_basis.strip())
            view = _record(actor, child, gate, reason=reason, break_glass=break_glass, archived=bool(archive))
            audit_record(
                event_type=event,
                actor=actor,
                child_ids=[child.contactpoint_id],
                reason=reason.strip(),
                details={"restricted": view.restricted, **archive},
            )
            _emergency_lookup(actor, child)
            return view
    except (PermissionDenied, ValidationError) as refusal:
        audit_record(
            event_type=event,
            outcome=Outcome.DENIED,
            actor=actor,
            child_ids=[child.contactpoint_id],
            reason=(reason or "").strip(),
            details={"refused": str(refusal)[:200]},
        )
        raise


def child_record_for_notice(
    actor: Actor,
    child: Child,
    *,
    whereabouts: bool,
    sensitive_organisation_id: int | None = None,
    through_shield_id: int | None = None,
) -> bool:
    """Whether this actor may be told of an event about the child, by the rules of the record page.

    `whereabouts`: the event tells something a shielded record hides (its area, an involvement, an
    emergency setting that has seen the child), so it may go only to those who see through the
    shield. `sensitive_organisation_id`: the event is about a sensitive service's involvement
    (that organisation's), which travels only where the record would show it. Nothing is
    disclosed here; the notifier audits what it sends. `through_shield_id`: the event is about that
    shield (current or ended), and travels only to those who see through it.
    """
    if not CAN_VIEW.allows(actor, child):
        return False
    if through_shield_id is not None and not _sees_through(actor, through_shield_id):
        return False
    try:
        archive_access(actor, child.pk)  # told of an archived child only where it could be opened
    except ChildArchived:
        return False
    if whereabouts and restricted_for(actor, child):
        return False
    if sensitive_organisation_id is not None:
        return (
            Involvement.objects.filter(
                child=child, organisation_id=sensitive_organisation_id, is_sensitive=True
            )
            .filter(_sensitive_visible(actor))
            .exists()
        )
    return True


def _sees_through(actor: Actor, shield_id: int) -> bool:
    shield = Shield.objects.filter(pk=shield_id).first()
    return shield is not None and SEES_THROUGH_SHIELD.allows(actor, shield)


def _emergency_lookup(actor: Actor, child: Child) -> None:
    """An emergency setting opened the record: the notifier decides whether services know the child."""
    if actor.unscheduled_care:
        from contactpoint.notifications.events import emergency_lookup_raise

        emergency_lookup_raise(actor=actor, child=child)


@dataclass(frozen=True)
class _Gate:
    """What decides whether a record opens, read in one statement before anything is shown."""

    archived_on: datetime.date | None  # archived on this day (by retention, or out of the scope)
    shield_id: int | None  # the live shield, if any


def _gate(child_pk: int) -> _Gate:
    """One round trip for the questions a view asks first (archived? shielded?): a view is read on
    every request, and on a busy database each statement waits for a core."""
    sql, stand_in_params = _gate_query(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [child_pk if param == _CHILD_ID else param for param in stand_in_params])
        row = cursor.fetchone()
    if row is None:
        return _Gate(None, None)
    archived_on, shield_id = row
    if isinstance(archived_on, str):  # SQLite's raw rows carry dates as text
        archived_on = datetime.date.fromisoformat(archived_on)
    return _Gate(archived_on, shield_id)


@functools.cache
def _gate_query(vendor: str) -> tuple[str, tuple[Any, ...]]:
    """The gate's statement, written with the ORM and compiled once (as the record's query is)."""
    live_shield = Shield.objects.filter(child_id=OuterRef("pk"), ended_at__isnull=True).order_by("pk")
    query = (
        Child.objects.filter(pk=_CHILD_ID)
        .annotate(
            archived=Subquery(archived_on_query(OuterRef("pk")).order_by("pk")[:1]),
            shield=Subquery(live_shield.values("pk")[:1]),
        )
        .values_list("archived", "shield")
    )
    sql, params = query.query.get_compiler(connection=connection).as_sql()
    return sql, tuple(params)


def _record(
    actor: Actor, child: Child, gate: _Gate, *, reason: str, break_glass: bool, archived: bool = False
) -> ChildRecordView:
    if not (archived or CAN_VIEW.allows(actor, child)):  # archive access was granted by its own rule
        raise PermissionDenied(f"The {actor.role} role cannot see children's records.")
    if not reason or not reason.strip():
        raise ValidationError("A reason for access is required before a child's record is shown.")
    shield = Shield.objects.get(pk=gate.shield_id) if gate.shield_id is not None else None
    if break_glass and not MAY_BREAK_GLASS.allows(actor, shield):
        raise PermissionDenied(f"The {actor.role} role cannot override a shield.")
    sees_through = shield is not None and SEES_THROUGH_SHIELD.allows(actor, shield)
    if shield is not None and break_glass and not sees_through:
        BreakGlassAlert.objects.create(
            child=child,
            shield=shield,
            local_authority=shield.local_authority,
            user_id=actor.user_id,
            reason=reason.strip()[:500],
        )
    restricted = shield is not None and not (sees_through or break_glass)
    items = _items(actor, child, restricted=restricted)
    view = _core(child, items, shielded=shield is not None, restricted=restricted)
    carers = _carers(items["carer"])
    if restricted:
        return _with(view, carers=[CarerView(c["given_name"], c["family_name"]) for c in carers])
    return _with(
        view,
        address=_address(items["address"]),
        identifiers=sorted(
            {
                (i["scheme"] if i["scheme"] != "other" else i["scheme_name"], i["value"])
                for i in items["identifier"]
            }
        ),
        carers=[_carer(c) for c in carers],
        schools=[_setting(s) for s in items["school"]],
        gp_practices=[_setting(g) for g in items["gp"]],
        involvements=[involvement_view(_involvement(i)) for i in items["involvement"]],
    )


def _with(view: ChildRecordView, **changes) -> ChildRecordView:
    return ChildRecordView(**{**view.__dict__, **changes})


# What the record reads of each item, as (kind, model, which rows, which columns). A shielded
# record that the actor may not see through reads only the RESTRICTED kinds.
_ORGANISATION = ("name", "phone", "email", "address_line_1", "town", "postcode", "kind", "code")
_LIVE = Q(superseded_at__isnull=True)
_ARMS = (
    (
        "name",
        ChildName,
        Q(is_chosen=True) | Q(kind=NameKind.FORMER, superseded_at__isnull=True),
        ("given_name", "middle_names", "family_name", "kind", "is_chosen"),
    ),
    ("gender", ChildGender, Q(is_chosen=True), ("gender",)),
    ("born", ChildBirthDate, Q(is_chosen=True), ("date_of_birth",)),
    (
        "carer",
        Carer,
        _LIVE,
        (
            "given_name",
            "family_name",
            "relationship",
            "has_parental_responsibility",
            "phone",
            "email",
            "address_line_1",
            "town",
            "postcode",
            "asserted_at",
            "source__authority_rank",
        ),
    ),
    (
        "address",
        ChildAddress,
        Q(is_chosen=True),
        ("status", "return_intent", "address_line_1", "address_line_2", "town", "postcode"),
    ),
    ("identifier", ChildIdentifier, _LIVE, ("scheme", "scheme_name", "value")),
    (
        "school",
        EducationSetting,
        _LIVE,
        ("start_date", "end_date", *(f"organisation__{f}" for f in _ORGANISATION)),
    ),
    ("gp", GPRegistration, _LIVE, ("start_date", "end_date", *(f"organisation__{f}" for f in _ORGANISATION))),
    (
        "involvement",
        Involvement,
        _LIVE,
        (
            "service_type",
            "start_date",
            "end_date",
            "is_sensitive",
            "has_caf",
            "is_lead_professional",
            "superseded_at",
            "practitioner_id",
            "practitioner__given_name",
            "practitioner__family_name",
            "practitioner__job_title",
            "practitioner__phone",
            "practitioner__email",
            *(f"organisation__{f}" for f in _ORGANISATION),
        ),
    ),
)
_RESTRICTED = {"name", "gender", "born", "carer"}


# Stand-ins for the child's and the actor's organisation's ids in the compiled query; each call
# puts the real ids in their place (no real primary key is negative).
_CHILD_ID = -1_000_000_007
_ORGANISATION_ID = -1_000_000_009


def _items(actor: Actor, child: Child, *, restricted: bool) -> dict[str, list[dict[str, Any]]]:
    """Every item the record shows, in one query: a UNION ALL with one arm per item table, each
    row packed as JSON, so a view costs one round trip however many tables the record spans.
    Rows the actor may not see never leave the database (identifiers, sensitive services)."""
    sql, stand_in_params = _items_query(
        connection.vendor, restricted=restricted, sensitive=_sensitive_rule(actor)
    )
    real = {_CHILD_ID: child.pk, _ORGANISATION_ID: actor.organisation.pk}
    params = [real.get(param, param) if type(param) is int else param for param in stand_in_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [json.loads(row) if isinstance(row, str | bytes) else row for (row,) in cursor.fetchall()]
    items: dict[str, list[dict[str, Any]]] = {kind: [] for kind, *_ in _ARMS}
    items[_KEY] = []
    for row in sorted(rows, key=lambda row: row["pk"]):
        items[row["item"]].append(row)
    key = items.pop(_KEY)
    key_columns = {c: key[0][c] if key else None for c in sealed.KEY_COLUMNS}
    keys = sealed.Keys()
    for kind, model, *_ in _ARMS:
        if sealed.is_sealed(model) and items[kind]:
            items[kind] = list(sealed.rows_open(model, (r | key_columns for r in items[kind]), keys=keys))
    return items


_KEY = "key"  # the arm that brings the child's wrapped data key, to open the sealed arms' rows


@functools.cache
def _items_query(vendor: str, *, restricted: bool, sensitive: str) -> tuple[str, tuple[Any, ...]]:
    """The record's query, written with the ORM and compiled once per shape: compiling a union of
    nine arms costs more than running it, and a record is read on every view."""
    arms: list[Any] = []
    for kind, model, rows, columns in _ARMS:
        if restricted and kind not in _RESTRICTED:
            continue
        if kind == "identifier":
            rows = rows & Q(issuer_id=_ORGANISATION_ID)
        elif kind == "involvement":
            rows = rows & _SENSITIVE_VISIBLE[sensitive]
        packed = JSONObject(
            item=Value(kind),
            pk=F("pk"),
            **{c.replace("__", "_"): F(c) for c in columns if c not in sealed.sealed_fields(model)},
            **sealed.json_columns(sealed.is_sealed(model)),
        )
        arms.append(
            model.objects.filter(rows, child_id=_CHILD_ID).annotate(row=packed).values_list("row", flat=True)
        )
    key = JSONObject(item=Value(_KEY), pk=F("pk"), **sealed.json_key_columns())
    arms.append(
        ChildDataKey.objects.filter(child_id=_CHILD_ID).annotate(row=key).values_list("row", flat=True)
    )
    union = arms[0].union(*arms[1:], all=True)
    sql, params = union.query.get_compiler(connection=connection).as_sql()
    return sql, tuple(params)


def _date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value[:10]) if value else None


def _flag(value: Any) -> bool | None:
    """JSON from SQLite carries booleans as 0 and 1."""
    return None if value is None else bool(value)


def _core(
    child: Child, items: dict[str, list[dict[str, Any]]], *, shielded: bool, restricted: bool
) -> ChildRecordView:
    names = items["name"]
    name = next((n for n in names if n["is_chosen"]), None)
    former = [n for n in names if n["kind"] == NameKind.FORMER and not n["is_chosen"]]
    gender = items["gender"][0]["gender"] if items["gender"] else ""
    born = items["born"][0]["date_of_birth"] if items["born"] else None
    return ChildRecordView(
        contactpoint_id=child.contactpoint_id,
        shielded=shielded,
        restricted=restricted,
        name=NameView(name["given_name"], name["middle_names"], name["family_name"]) if name else None,
        former_names=sorted(
            {NameView(f["given_name"], f["middle_names"], f["family_name"]) for f in former},
            key=lambda n: (n.family_name, n.given_name),
        ),
        gender=gender,
        date_of_birth=born,
    )


def _address(rows: list[dict[str, Any]]) -> dict[str, str] | None:
    if not rows:
        return None
    return {
        field: rows[0][field]
        for field in ("status", "return_intent", "address_line_1", "address_line_2", "town", "postcode")
    }


def _postal(holder) -> str:
    """An organisation's or carer's address on one line."""
    return ", ".join(part for part in (holder.address_line_1, holder.town, holder.postcode) if part)


def organisation_contact(organisation) -> ContactView:
    return ContactView(
        organisation.name,
        organisation.phone,
        organisation.email,
        _postal(organisation),
        kind=organisation.kind,
        code=organisation.code,
    )


def _organisation(row: dict[str, Any]) -> Organisation:
    """The organisation's columns of a packed row, as the (unsaved) organisation they describe."""
    return Organisation(**{f: row[f"organisation_{f}"] for f in _ORGANISATION})


def _carers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per person: several sources name the same carer; the most authoritative, latest wins."""
    by_person: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for carer in rows:
        by_person.setdefault((carer["given_name"].casefold(), carer["family_name"].casefold()), []).append(
            carer
        )
    return [
        min(
            assertions,
            key=lambda c: (
                c["source_authority_rank"],
                -datetime.datetime.fromisoformat(c["asserted_at"]).timestamp(),
                -c["pk"],
            ),
        )
        for assertions in by_person.values()
    ]


def _carer(carer: dict[str, Any]) -> CarerView:
    return CarerView(
        carer["given_name"],
        carer["family_name"],
        carer["relationship"],
        _flag(carer["has_parental_responsibility"]),
        ContactView(
            f"{carer['given_name']} {carer['family_name']}".strip(),
            carer["phone"],
            carer["email"],
            ", ".join(carer[part] for part in ("address_line_1", "town", "postcode") if carer[part]),
        ),
    )


def _setting(row: dict[str, Any]) -> SettingView:
    return SettingView(
        organisation_contact(_organisation(row)), _date(row["start_date"]), _date(row["end_date"])
    )


def _involvement(row: dict[str, Any]) -> Involvement:
    """The (unsaved) involvement a packed row describes, so `involvement_view` maps both paths."""
    practitioner = None
    if row["practitioner_id"] is not None:
        practitioner = Practitioner(
            pk=row["practitioner_id"],
            given_name=row["practitioner_given_name"],
            family_name=row["practitioner_family_name"],
            job_title=row["practitioner_job_title"],
            phone=row["practitioner_phone"],
            email=row["practitioner_email"],
        )
    return Involvement(
        pk=row["pk"],
        organisation=_organisation(row),
        practitioner=practitioner,
        service_type=row["service_type"],
        start_date=_date(row["start_date"]),
        end_date=_date(row["end_date"]),
        is_sensitive=bool(row["is_sensitive"]),
        has_caf=bool(row["has_caf"]),
        is_lead_professional=bool(row["is_lead_professional"]),
        superseded_at=None,
    )


def _own_or_consent(organisation_id: int) -> Q:
    return (
        Q(is_sensitive=False) | Q(organisation_id=organisation_id) | Q(sensitive_basis=SensitiveBasis.CONSENT)
    )


# Sensitive services (domain.md section 5): never to national partners; to the providing service
# and the authority's team always; to other practitioners only with the child's consent.
_SENSITIVE_VISIBLE = {
    "none": Q(is_sensitive=False),
    "all": Q(),
    "own_or_consent": _own_or_consent(_ORGANISATION_ID),
}


def _sensitive_visible(actor: Actor) -> Q:
    """The same rule as a filter for one actor (the record read compiles it once per rule)."""
    rule = _sensitive_rule(actor)
    return _own_or_consent(actor.organisation.pk) if rule == "own_or_consent" else _SENSITIVE_VISIBLE[rule]


def _sensitive_rule(actor: Actor) -> str:
    if not actor.can(p.VIEW_SENSITIVE_SERVICES):
        return "none"
    if actor.can(p.MANAGE_SHIELDING):
        return "all"
    return "own_or_consent"


def involvement_view(involvement: Involvement) -> InvolvementView:
    """One involvement as the record shows it (callers have already decided it may be seen)."""
    practitioner = involvement.practitioner
    return InvolvementView(
        organisation=organisation_contact(involvement.organisation),
        service_type=involvement.service_type,
        practitioner=ContactView(
            f"{practitioner.given_name} {practitioner.family_name}",
            practitioner.phone,
            practitioner.email,
            title=practitioner.job_title,
        )
        if practitioner
        else None,
        start_date=involvement.start_date,
        end_date=involvement.end_date,
        is_sensitive=involvement.is_sensitive,
        has_caf=involvement.has_caf,
        is_lead_professional=involvement.is_lead_professional,
        id=involvement.pk,
        version=involvement_version(involvement),
    )


@dataclass(frozen=True)
class FoundChild:
    """What a search result may show of a child (minimum disclosure: no address, no services)."""

    pk: int
    contactpoint_id: str
    restricted: bool  # shielded from this actor: only names, gender and birth date may match
    given_name: str
    family_name: str
    date_of_birth: datetime.date | None
    gender: str
    postcode_district: str


def search_scope(actor: Actor, child_pks: list[int]) -> dict[int, FoundChild]:
    """The children a search may return to this actor, with what each result may show.

    The caller audits the search (with the ids it returns) in the same transaction.
    """
    if not CAN_SEARCH.allows(actor, None):
        raise PermissionDenied(f"The {actor.role} role cannot search the index.")
    today = timezone.localdate()
    found = {}
    keys = sealed.Keys()
    for row in _scope_rows(child_pks):
        pk, contactpoint_id, *name, born_pk, born_blob, address_pk, address_blob = row[:8]
        wrapped, key_id, kek_id, gender, archived_on, shield, area = row[8:]
        key = [wrapped, key_id, kek_id]
        named = _chosen_open(ChildName, [*name, *key], keys)
        if archived_on is not None and archive_hidden_from(actor, _day(archived_on), today):
            continue
        hidden = shield is not None and not SEES_THROUGH_SHIELD.allows(
            actor, Shield(pk=shield, child_id=pk, local_authority_id=area)
        )
        found[pk] = FoundChild(
            pk=pk,
            contactpoint_id=contactpoint_id,
            restricted=hidden,
            given_name=named["given_name"] or "",
            family_name=named["family_name"] or "",
            date_of_birth=_chosen_open(ChildBirthDate, [born_pk, born_blob, *key], keys)["date_of_birth"],
            gender=gender or "",
            postcode_district="" if hidden else _postcode_district([address_pk, address_blob, *key], keys),
        )
    return found


def _chosen_open(model, columns: list[Any], keys: sealed.Keys) -> dict[str, Any]:
    """A chosen value's sealed fields from the scope statement's columns (its pk, its blob and the
    child's key columns); empty when the child has no such value."""
    pk, blob, *key = columns
    if pk is None:
        return dict.fromkeys(sealed.sealed_fields(model))
    row = {"pk": pk, sealed.COLUMN: blob, **dict(zip(sealed.KEY_COLUMNS, key, strict=True))}
    return next(sealed.rows_open(model, [row], keys=keys))


def _postcode_district(columns: list[Any], keys: sealed.Keys) -> str:
    """The chosen address's district (a search shows and ranks by no more of it)."""
    return _district(_chosen_open(ChildAddress, columns, keys)["postcode"] or "")


def _day(value: datetime.date | str | None) -> datetime.date | None:
    """SQLite's raw rows carry dates as text."""
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


_CHILD_PKS = "-1000000011"  # stands in for the candidates' ids in the compiled scope statement


def _scope_rows(child_pks: list[int]) -> list[tuple]:
    """Every candidate's chosen values, archive state and live shield, in one statement compiled
    once: a search pays for its round trips and for building queries, not for rows."""
    if not child_pks:
        return []
    sql, stand_in_params = _scope_query(connection.vendor)
    listed = list(child_pks) if connection.vendor == "postgresql" else json.dumps(child_pks)
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, [listed if param == _CHILD_PKS else param for param in stand_in_params])
        return cursor.fetchall()


_MEMBERS = {  # the candidates' ids as one parameter: an array on PostgreSQL, a JSON list elsewhere
    "postgresql": "SELECT unnest(%s::bigint[])",
    "sqlite": "SELECT value FROM json_each(%s)",
}


@functools.cache
def _scope_query(vendor: str) -> tuple[str, tuple[Any, ...]]:
    from contactpoint.retention.models import ChildRetention, RetentionState

    live_shield = Shield.objects.filter(child_id=OuterRef("pk"), ended_at__isnull=True).order_by("pk")
    archived = ChildRetention.objects.filter(child_id=OuterRef("pk"), state=RetentionState.ARCHIVED)
    query = (
        Child.objects.filter(pk__in=RawSQL(_MEMBERS[vendor], [_CHILD_PKS]))  # noqa: S611 (fixed SQL)
        .annotate(
            name_pk=_chosen_value(ChildName, "pk"),
            name_sealed=_chosen_value(ChildName, sealed.COLUMN),
            born_pk=_chosen_value(ChildBirthDate, "pk"),
            born_sealed=_chosen_value(ChildBirthDate, sealed.COLUMN),
            address_pk=_chosen_value(ChildAddress, "pk"),
            address_sealed=_chosen_value(ChildAddress, sealed.COLUMN),
            **sealed.key_columns("pk"),
            chosen_gender=_chosen_value(ChildGender, "gender"),
            archived_on=Subquery(archived.order_by("pk").values("archived_on")[:1]),
            shield=Subquery(live_shield.values("pk")[:1]),
            shield_area=Subquery(live_shield.values("local_authority_id")[:1]),
        )
        .values_list(
            "pk",
            "contactpoint_id",
            "name_pk",
            "name_sealed",
            "born_pk",
            "born_sealed",
            "address_pk",
            "address_sealed",
            *sealed.KEY_COLUMNS,
            "chosen_gender",
            "archived_on",
            "shield",
            "shield_area",
        )
    )
    sql, params = query.query.get_compiler(connection=connection).as_sql()
    return sql, tuple(params)


def _chosen_value(model, column: str) -> Subquery:
    return Subquery(model.objects.filter(child_id=OuterRef("pk"), is_chosen=True).values(column)[:1])


def child_pks_for(*, contactpoint_ids: list[str] = (), nhs_number: str = "", upn: str = "") -> list[int]:  # type: ignore[assignment]
    """Children by ContactPoint ID or by identifier (anyone may search by an identifier)."""
    query = Q(contactpoint_id__in=list(contactpoint_ids)) if contactpoint_ids else Q(pk__in=[])
    for scheme, value in (("nhs_number", nhs_number), ("upn", upn)):
        if value:
            query |= Q(
                pk__in=ChildIdentifier.objects.filter(
                    blind_value__in=ChildIdentifier.blind_values(scheme, value), superseded_at__isnull=True
                ).values("child_id")
            )
    return list(Child.objects.filter(query).values_list("pk", flat=True)[:50])


def _district(postcode: str) -> str:
    return postcode.split()[0] if " " in postcode.strip() else ""


def responsible_team_required(
    actor: Actor,
    child: Child,
    *,
    permission: str,
    event_type: EventType,
    doing: str,
    details: dict | None = None,
) -> None:
    """Refuse, and audit the refusal, unless the actor's role grants `permission` and its
    authority is the one responsible for the child (policies.responsible_for_child). Acts on the
    whole record (subject access, corrections, consent, a death) are that team's alone."""
    refusal = ""
    if not actor.can(permission):
        refusal = f"The {actor.role} role cannot {doing}."
    elif not RESPONSIBLE_TEAM.allows(actor, child):
        refusal = f"Only the team of the local authority responsible for this child can {doing}."
    if refusal:
        audit_record(
            event_type=event_type,
            outcome=Outcome.DENIED,
            actor=actor,
            child_ids=[child.contactpoint_id],
            details={**(details or {}), "refused": refusal},
        )
        raise PermissionDenied(refusal)


def subject_access_team_required(actor: Actor, child: Child, *, details: dict | None = None) -> None:
    """Only the responsible authority's team answers a subject access request (asked by the request
    form before anything is collected, and again by the export)."""
    responsible_team_required(
        actor,
        child,
        permission=p.EXPORT_SUBJECT_ACCESS,
        event_type=EventType.EXPORT,
        doing="answer subject access requests for it",
        details=details,
    )


def subject_access_for(actor: Actor, child: Child, *, reason: str, output: str) -> dict:
    """Everything held about the child, for the team of the authority responsible for the child
    answering a subject access request.

    Audited as an export in the same transaction; a refusal is audited too.
    """
    from contactpoint.subject_access.collect import child_everything

    subject_access_team_required(actor, child, details={"subject_access": output})
    try:
        if not reason or not reason.strip():
            raise ValidationError("Say which request this export answers.")
        with transaction.atomic():
            everything = child_everything(child)
            audit_record(
                event_type=EventType.EXPORT,
                actor=actor,
                child_ids=[child.contactpoint_id],
                reason=reason.strip(),
                details={"subject_access": output},
            )
            return everything
    except ValidationError as refusal:
        audit_record(
            event_type=EventType.EXPORT,
            outcome=Outcome.DENIED,
            actor=actor,
            child_ids=[child.contactpoint_id],
            reason=(reason or "").strip(),
            details={"refused": str(refusal)[:200], "subject_access": output},
        )
        raise
