"""Turning linked source records into the child record's assertions.

Each value a source record holds becomes an assertion row of the child it is linked to, with
that record's provenance (source, source record id, asserted at). Survivorship then chooses what
the record shows. Re-materialising a record first supersedes what it asserted before, so history
is kept and nothing is asserted twice.
"""

import datetime
from collections import defaultdict
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from contactpoint.feeds.loader import bulk_insert
from contactpoint.feeds.models import Source, SourceRecord, SourceRecordVersion
from contactpoint.records import sealed, services
from contactpoint.records.models import (
    AddressStatus,
    Carer,
    Child,
    ChildAddress,
    ChildBirthDate,
    ChildGender,
    ChildIdentifier,
    ChildName,
    EducationSetting,
    GPRegistration,
    IdentifierScheme,
    Involvement,
    NameKind,
    Organisation,
    OrganisationKind,
    Practitioner,
)

from .flags import Seen, needs_linking_clear, seen_of
from .models import CandidateKey

NHS_NUMBER_ISSUER = ("national_body", "X26")  # NHS England issues NHS numbers
BATCH = 2000
# Every table a materialisation pass writes row by row (practitioners are few and read back).
MATERIALISED_TABLES = (
    *(model._meta.db_table for model in services.ITEM_MODELS.values()),
    CandidateKey._meta.db_table,
)

# What materialising needs of a source record, read as plain values: building model instances
# for a million records costs more than everything else in the pass together.
RECORD_VALUES = (
    "pk",
    "child_id",
    "withdrawn_at",
    "source_id",
    "source__code",
    "source__organisation_id",
    "source_record_id",
    "asserted_at",
    "given_name",
    "middle_names",
    "family_name",
    "former_family_name",
    "gender",
    "date_of_birth",
    "address_line_1",
    "town",
    "postcode",
    "nhs_number",
    "upn",
    "extras",
    "sealed_key",  # the child whose key sealed the record (None: its file's load key)
)

Row = dict[str, Any]


class Materialiser:
    """Collects assertions of many records as rows, then writes them in bulk and re-chooses.

    One materialiser serves a whole pass (reference data is read once); `save` empties it.
    """

    def __init__(self) -> None:
        self.organisations = {
            (kind, code): pk for pk, kind, code in Organisation.objects.values_list("pk", "kind", "code")
        }
        self.by_code: dict[str, int] = {}
        for (_, code), pk in self.organisations.items():
            self.by_code.setdefault(code, pk)
        self.rank = dict(Source.objects.values_list("pk", "authority_rank"))
        self.practitioners: dict[tuple[int, str], int | Practitioner] = {
            (source, record): pk
            for pk, source, record in Practitioner.objects.values_list("pk", "source_id", "source_record_id")
        }
        self.unknown_organisations: set[str] = set()
        self.ciphers: dict[int, Any] = {}  # the last batch's children's keys, for re-sealing feed rows
        self._empty()

    def _empty(self) -> None:
        self.items: dict[type[models.Model], list[Row]] = defaultdict(list)
        self.new_practitioners: list[Practitioner] = []
        self.keys: dict[int, list[str]] = defaultdict(list)  # (source, record id) of every record added

    def add(self, record: Row) -> None:
        if record["child_id"] is None or record["withdrawn_at"] is not None:
            return
        self.keys[record["source_id"]].append(record["source_record_id"])
        p = {key: record[key] for key in ("child_id", "source_id", "source_record_id", "asserted_at")}
        extras = record["extras"] or {}
        nhs_issuer = self.organisations.get(NHS_NUMBER_ISSUER)
        upn = record["upn"]
        upn_issuer = self.organisations.get((OrganisationKind.LOCAL_AUTHORITY, upn[1:4])) if upn else None
        rows: list[tuple[type[models.Model], list[Row]]] = [
            (ChildName, child_name_values(record)),
            (ChildGender, child_gender_values(record)),
            (ChildBirthDate, child_birth_date_values(record)),
            (ChildAddress, child_address_values(record)),
            (
                ChildIdentifier,
                child_identifier_values(record, nhs_issuer, upn_issuer or record["source__organisation_id"]),
            ),
            (Carer, [carer_values(carer) for carer in extras.get("carers", [])]),
        ]
        if "school" in extras and (
            school := self._organisation(extras["school"]["code"], OrganisationKind.SCHOOL)
        ):
            rows.append((EducationSetting, [education_setting_values(school, extras["school"])]))
        if "gp" in extras and (gp := self._organisation(extras["gp"]["code"], OrganisationKind.GP_PRACTICE)):
            rows.append((GPRegistration, [gp_registration_values(gp, extras["gp"])]))
        if "involvement" in extras:
            rows.append((Involvement, self._involvement(record, extras["involvement"])))
        for model, values in rows:
            self.items[model].extend(p | v for v in values)

    def _organisation(self, code: str, kind: str | None = None) -> int | None:
        organisation = self.organisations.get((kind, code)) if kind else self.by_code.get(code)
        if organisation is None:
            self.unknown_organisations.add(code)
        return organisation

    def _involvement(self, record: Row, involvement: dict[str, Any]) -> list[Row]:
        organisation = self._organisation(involvement["organisation_code"])
        if organisation is None:
            return []
        practitioner = None
        if details := involvement.get("practitioner"):
            practitioner = self._practitioner(record, organisation, details)
        return [involvement_values(involvement, organisation, practitioner)]

    def _practitioner(self, record: Row, organisation: int, details: dict[str, str]) -> int | Practitioner:
        """An existing practitioner's id, or a new one (saved before the rows that point at it)."""
        key = (record["source_id"], details["id"] or f"{record['source_record_id']}:practitioner")
        practitioner = self.practitioners.get(key)
        if practitioner is None:
            practitioner = self.practitioners[key] = Practitioner(
                source_id=key[0],
                source_record_id=key[1],
                asserted_at=record["asserted_at"],
                organisation_id=organisation,
                **practitioner_values(details),
            )
            self.new_practitioners.append(practitioner)
        return practitioner

    @transaction.atomic
    def save(self, *, supersede: bool = True) -> dict[str, int]:
        """`supersede=False` when none of the records can have asserted anything before."""
        now = timezone.now()
        if supersede:
            self._supersede_previous(now)
        Practitioner.objects.bulk_create(self.new_practitioners, batch_size=BATCH)
        self._resolve_new_practitioners()
        children = {item["child_id"] for items in self.items.values() for item in items}
        held = self._children_with_assertions(children) if supersede else set()
        self._choose_for_new_children(held)
        ciphers = sealed.ciphers_for(
            i["child_id"] for m, items in self.items.items() if sealed.is_sealed(m) for i in items
        )
        self.ciphers = ciphers
        for model, items in self.items.items():
            if sealed.is_sealed(model):
                sealed.rows_seal(model, items, ciphers)  # every sealed table's values, sealed here
            insert_rows(model, items, now=now)
        for child_id in held:
            services.child_values_choose(child=Child(pk=child_id))
        counts = {model.__name__: len(items) for model, items in self.items.items()}
        self._empty()
        return counts

    def _resolve_new_practitioners(self) -> None:
        for row in self.items[Involvement]:
            if isinstance(row["practitioner_id"], Practitioner):
                row["practitioner_id"] = row["practitioner_id"].pk
        for key, practitioner in self.practitioners.items():
            if isinstance(practitioner, Practitioner):
                self.practitioners[key] = practitioner.pk

    def _supersede_previous(self, now: datetime.datetime) -> None:
        """What these records asserted before becomes history before their new values go in."""
        for source_id, record_ids in self.keys.items():
            services.assertions_supersede(source_id=source_id, source_record_ids=record_ids, at=now)

    def _children_with_assertions(self, children: set[int]) -> set[int]:
        ids = sorted(children)
        held: set[int] = set()
        for model in services.CHOSEN_ITEM_MODELS:
            for start in range(0, len(ids), BATCH):
                held.update(
                    model._default_manager.filter(
                        child_id__in=ids[start : start + BATCH], superseded_at__isnull=True
                    ).values_list("child_id", flat=True)
                )
        return held

    def _choose_for_new_children(self, held: set[int]) -> None:
        """Children with nothing on record yet: apply survivorship in memory, before the insert."""
        for model in services.CHOSEN_ITEM_MODELS:
            by_child: dict[int, list[Row]] = defaultdict(list)
            for item in self.items[model]:
                if item["child_id"] not in held and item.get("kind", NameKind.CURRENT) == NameKind.CURRENT:
                    by_child[item["child_id"]].append(item)
            for rows in by_child.values():
                winner = min(
                    rows,
                    key=lambda r: services.survivor_order(
                        authority_rank=self.rank[r["source_id"]], asserted_at=r["asserted_at"]
                    ),
                )
                winner["is_chosen"] = True


def insert_rows(model: type[models.Model], items: list[Row], *, now: datetime.datetime) -> None:
    """Insert rows of field values without building instances (COPY on PostgreSQL).

    Unset fields take their model defaults, as instances would; `recorded_at` (auto_now_add)
    is set here as the ORM would.
    """
    with_ids = bool(items) and "id" in items[0]  # ids reserved by records.sealed.rows_seal
    fields = [f for f in model._meta.concrete_fields if with_ids or not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields} | {"recorded_at": now}
    prepared = [f for f in fields if _needs_preparing(f)]
    plain = [f for f in fields if f not in prepared]
    rows = (
        [row.get(f.attname, defaults[f.attname]) for f in plain]
        + [f.get_db_prep_save(row.get(f.attname, defaults[f.attname]), connection) for f in prepared]
        for row in items
    )
    bulk_insert(model._meta.db_table, [str(f.column) for f in plain + prepared], rows)


# Field types whose Python values the database driver takes as they are (exact types: a custom
# subclass may convert its values, so it goes through Django).
_PLAIN_FIELDS = (
    models.CharField,
    models.EmailField,
    models.TextField,
    models.BinaryField,
    models.BooleanField,
    models.IntegerField,
    models.BigIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.SmallIntegerField,
    models.AutoField,
    models.BigAutoField,
)


def _needs_preparing(field: models.Field) -> bool:
    """Strings, numbers and ids go to the driver as they are; dates only need Django on SQLite
    (PostgreSQL's COPY takes Python dates); JSON and any other field type always do."""
    if type(field) in (models.DateField, models.DateTimeField):
        return connection.vendor != "postgresql"
    if type(field) is models.ForeignKey:
        return _needs_preparing(field.target_field)
    return type(field) not in _PLAIN_FIELDS


# One function per table builds the values of its rows from a source record (provenance and
# the child are added by the caller): every value written passes through exactly one of these.


def child_name_values(record: Row) -> list[Row]:
    rows = []
    if record["given_name"] or record["family_name"]:
        rows.append(
            {
                "given_name": record["given_name"],
                "middle_names": record["middle_names"],
                "family_name": record["family_name"],
            }
        )
    if record["former_family_name"]:
        rows.append(
            {
                "kind": NameKind.FORMER,
                "given_name": record["given_name"],
                "family_name": record["former_family_name"],
            }
        )
    return rows


def child_gender_values(record: Row) -> list[Row]:
    return [{"gender": record["gender"]}] if record["gender"] else []


def child_birth_date_values(record: Row) -> list[Row]:
    return [{"date_of_birth": record["date_of_birth"]}] if record["date_of_birth"] else []


def child_address_values(record: Row) -> list[Row]:
    if not (record["address_line_1"] or record["postcode"]):
        return []
    return [
        {
            "status": AddressStatus.CURRENT,
            "address_line_1": record["address_line_1"],
            "town": record["town"],
            "postcode": record["postcode"],
        }
    ]


def child_identifier_values(record: Row, nhs_issuer: int | None, upn_issuer: int) -> list[Row]:
    rows = []
    if record["nhs_number"] and nhs_issuer:
        rows.append(
            {"scheme": IdentifierScheme.NHS_NUMBER, "value": record["nhs_number"], "issuer_id": nhs_issuer}
        )
    if record["upn"]:
        rows.append({"scheme": IdentifierScheme.UPN, "value": record["upn"], "issuer_id": upn_issuer})
    return rows


def carer_values(carer: dict[str, Any]) -> Row:
    return {
        "given_name": carer["given_name"],
        "family_name": carer["family_name"],
        "relationship": carer["relationship"],
        "has_parental_responsibility": bool(carer["parental_responsibility"]),
        "phone": carer["phone"],
        "email": carer["email"][:254],
    }


def education_setting_values(organisation: int, school: dict[str, str]) -> Row:
    return {"organisation_id": organisation, "start_date": _date(school["start_date"])}


def gp_registration_values(organisation: int, gp: dict[str, str]) -> Row:
    return {"organisation_id": organisation, "start_date": _date(gp["start_date"])}


def involvement_values(
    involvement: dict[str, Any], organisation: int, practitioner: int | Practitioner | None
) -> Row:
    basis = involvement["sensitive_basis"]
    return {
        "organisation_id": organisation,
        "service_type": involvement["service_type"],
        "practitioner_id": practitioner,
        "start_date": _date(involvement["start_date"]),
        "end_date": _date(involvement["end_date"]),
        "is_sensitive": bool(basis),
        "sensitive_basis": basis,
        "has_caf": involvement["has_caf"],
        "is_lead_professional": involvement["is_lead_professional"],
    }


def practitioner_values(details: dict[str, str]) -> Row:
    return {
        "given_name": details["given_name"],
        "family_name": details["family_name"],
        "job_title": details["job_title"],
        "phone": details["phone"],
        "email": details["email"],
    }


def _date(text: str) -> datetime.date | None:
    return datetime.date.fromisoformat(text) if text else None


def materialise(
    record_ids: list[int],
    *,
    materialiser: Materialiser,
    fresh: bool = False,
    flagged: list[int] | None = None,
    decided: dict[int, Seen] | None = None,
) -> list[Row]:
    """Write the assertions of these linked records; returns the records' values as read.

    `fresh`: the index holds no assertions from these records (a first load), so there is
    nothing of theirs to mark as history first. `flagged`: those of the records marked
    `needs_linking` (all of them when not given), whose flag is cleared; a run's moved records
    are tracked by its ledger instead, so their wide rows are not written a second time. A flag
    is cleared only where the record is still as read here and, given the run's `decided` states,
    a live record only as its link decision read it (ADR 0020).
    """
    query = SourceRecord.objects.filter(pk__in=record_ids)
    records = sealed.values_opened(query, *RECORD_VALUES, "content_hash")
    for record in records:
        materialiser.add(record)
    materialiser.save(supersede=not fresh)
    feed_rows_reseal(records, materialiser.ciphers)
    linked = {r["pk"]: seen_of(r) for r in records if r["child_id"]}
    clear = linked.keys() if flagged is None else linked.keys() & set(flagged)
    seen = {pk: linked[pk] for pk in clear if _settled(linked[pk], decided, pk)}
    if seen:
        needs_linking_clear(seen=seen)
    return records


def _settled(state: Seen, decided: dict[int, Seen] | None, pk: int) -> bool:
    """Materialising settles a record read withdrawn (no run links one) and, given a run's
    decisions, a live one only in the state they read."""
    return decided is None or not state[1] or decided.get(pk) == state


def feed_rows_reseal(records: list[Row], ciphers: dict[int, Any]) -> int:
    """Records (and their versions) not yet sealed under their child's key are re-sealed under it,
    from the values just read: until then they open with their file's load key or, after a merge
    or a re-link, with their previous child's key (docs/adr/0010-retention.md). A record a feed
    load rewrote since it was read (another content hash) is left to the next run (ADR 0020)."""
    moved = {r["pk"]: r for r in records if r["child_id"] is not None and r["sealed_key"] != r["child_id"]}
    if not moved:
        return 0
    missing = {r["child_id"] for r in moved.values()} - set(ciphers)
    ciphers = {**ciphers, **sealed.ciphers_for(missing)} if missing else ciphers
    sealed.feed_rows_reseal(
        SourceRecord,
        [
            (pk, r["child_id"], sealed.seal(ciphers[r["child_id"]], SourceRecord, pk, r), r["content_hash"])
            for pk, r in moved.items()
        ],
    )
    versions = sealed.values_opened(
        SourceRecordVersion.objects.filter(record_id__in=list(moved)), "record_id"
    )
    child_of = {pk: r["child_id"] for pk, r in moved.items()}
    sealed.feed_rows_reseal(
        SourceRecordVersion,
        [
            (
                v["pk"],
                child_of[v["record_id"]],
                sealed.seal(ciphers[child_of[v["record_id"]]], SourceRecordVersion, v["pk"], v),
                None,
            )
            for v in versions
        ],
    )
    return len(moved)
