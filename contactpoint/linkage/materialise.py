"""Turning linked source records into the child record's assertions.

Each value a source record holds becomes an assertion row of the child it is linked to, with
that record's provenance (source, source record id, asserted at). Survivorship then chooses what
the record shows. Re-materialising a record first supersedes what it asserted before, so history
is kept and nothing is asserted twice.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from contactpoint.feeds.loader import bulk_insert
from contactpoint.feeds.models import SourceRecord
from contactpoint.records import services
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

NHS_NUMBER_ISSUER = ("national_body", "X26")  # NHS England issues NHS numbers
BATCH = 2000


class Materialiser:
    """Collects assertions for many records, then writes them in bulk and re-chooses."""

    def __init__(self) -> None:
        self.organisations = {(o.kind, o.code): o for o in Organisation.objects.all()}
        self.by_code: dict[str, Organisation] = {}
        for organisation in self.organisations.values():
            self.by_code.setdefault(organisation.code, organisation)
        self.items: dict[type[models.Model], list] = defaultdict(list)
        self.practitioners: dict[tuple[int, str], Practitioner] = {
            (p.source_id, p.source_record_id): p for p in Practitioner.objects.all()
        }
        self.new_practitioners: list[Practitioner] = []
        self.unknown_organisations: set[str] = set()
        self.keys: dict[int, list[str]] = defaultdict(list)  # (source, record id) of every record added

    def add(self, record: SourceRecord) -> None:
        if record.child_id is None or record.withdrawn_at is not None:
            return
        self.keys[record.source_id].append(record.source_record_id)
        p = {
            "child_id": record.child_id,
            "source": record.source,
            "source_record_id": record.source_record_id,
            "asserted_at": record.asserted_at,
        }
        self._demographics(p, record)
        self._identifiers(p, record)
        extras = record.extras or {}
        for carer in extras.get("carers", []):
            self.items[Carer].append(Carer(**p, **_carer_fields(carer)))
        for key, model, kind in (
            ("school", EducationSetting, OrganisationKind.SCHOOL),
            ("gp", GPRegistration, OrganisationKind.GP_PRACTICE),
        ):
            if key in extras and (organisation := self._organisation(extras[key]["code"], kind)):
                self.items[model].append(
                    model(**p, organisation=organisation, start_date=_date(extras[key]["start_date"]))
                )
        if "involvement" in extras:
            self._involvement(p, record, extras["involvement"])

    def _demographics(self, p: dict[str, Any], record: SourceRecord) -> None:
        if record.given_name or record.family_name:
            self.items[ChildName].append(
                ChildName(
                    **p,
                    given_name=record.given_name,
                    middle_names=record.middle_names,
                    family_name=record.family_name,
                )
            )
        if record.former_family_name:
            self.items[ChildName].append(
                ChildName(
                    **p,
                    kind=NameKind.FORMER,
                    given_name=record.given_name,
                    family_name=record.former_family_name,
                )
            )
        if record.gender:
            self.items[ChildGender].append(ChildGender(**p, gender=record.gender))
        if record.date_of_birth:
            self.items[ChildBirthDate].append(ChildBirthDate(**p, date_of_birth=record.date_of_birth))
        if record.address_line_1 or record.postcode:
            self.items[ChildAddress].append(
                ChildAddress(
                    **p,
                    status=AddressStatus.CURRENT,
                    address_line_1=record.address_line_1,
                    town=record.town,
                    postcode=record.postcode,
                )
            )

    def _identifiers(self, p: dict[str, Any], record: SourceRecord) -> None:
        if record.nhs_number and (issuer := self.organisations.get(NHS_NUMBER_ISSUER)):
            self.items[ChildIdentifier].append(
                ChildIdentifier(
                    **p, scheme=IdentifierScheme.NHS_NUMBER, value=record.nhs_number, issuer=issuer
                )
            )
        if record.upn:
            issuer = self.organisations.get((OrganisationKind.LOCAL_AUTHORITY, record.upn[1:4]))
            self.items[ChildIdentifier].append(
                ChildIdentifier(
                    **p,
                    scheme=IdentifierScheme.UPN,
                    value=record.upn,
                    issuer=issuer or record.source.organisation,
                )
            )

    def _organisation(self, code: str, kind: str | None = None) -> Organisation | None:
        organisation = self.organisations.get((kind, code)) if kind else self.by_code.get(code)
        if organisation is None:
            self.unknown_organisations.add(code)
        return organisation

    def _involvement(self, p: dict[str, Any], record: SourceRecord, involvement: dict[str, Any]) -> None:
        organisation = self._organisation(involvement["organisation_code"])
        if organisation is None:
            return
        practitioner = None
        if details := involvement.get("practitioner"):
            practitioner = self._practitioner(record, organisation, details)
        basis = involvement["sensitive_basis"]
        self.items[Involvement].append(
            Involvement(
                **p,
                organisation=organisation,
                service_type=involvement["service_type"],
                practitioner=practitioner,
                start_date=_date(involvement["start_date"]),
                end_date=_date(involvement["end_date"]),
                is_sensitive=bool(basis),
                sensitive_basis=basis,
                has_caf=involvement["has_caf"],
                is_lead_professional=involvement["is_lead_professional"],
            )
        )

    def _practitioner(
        self, record: SourceRecord, organisation: Organisation, details: dict[str, str]
    ) -> Practitioner:
        key = (record.source_id, details["id"] or f"{record.source_record_id}:practitioner")
        practitioner = self.practitioners.get(key)
        if practitioner is None:
            practitioner = self.practitioners[key] = Practitioner(
                source_id=key[0],
                source_record_id=key[1],
                asserted_at=record.asserted_at,
                organisation=organisation,
                given_name=details["given_name"],
                family_name=details["family_name"],
                job_title=details["job_title"],
                phone=details["phone"],
                email=details["email"],
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
        children = {item.child_id for items in self.items.values() for item in items}
        held = self._children_with_assertions(children)
        self._choose_for_new_children(held)
        for model, items in self.items.items():
            insert_instances(model, items, now=now)
        for child_id in held:
            services.child_values_choose(child=Child(pk=child_id))
        return {model.__name__: len(items) for model, items in self.items.items()}

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
            by_child: dict[int, list] = defaultdict(list)
            for item in self.items[model]:
                if item.child_id not in held:
                    by_child[item.child_id].append(item)
            for assertions in by_child.values():
                if winner := services.survivor(assertions):
                    winner.is_chosen = True


def insert_instances(model: type[models.Model], items: list[models.Model], *, now: datetime.datetime) -> None:
    """Insert unsaved instances without the ORM's per-batch SQL compilation (COPY on PostgreSQL).

    The instances are built and validated by this module; their primary keys are not needed
    afterwards, and `recorded_at` (auto_now_add) is set here as the ORM would.
    """
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    for item in items:
        # As bulk_create does: take FK ids from related objects saved since (the practitioners).
        item._prepare_related_fields_for_save(operation_name="insert_instances")  # type: ignore[attr-defined]
        item.recorded_at = now  # type: ignore[attr-defined]
    plain = [f.attname for f in fields if not _needs_preparing(f)]
    prepared = [(f.attname, f) for f in fields if _needs_preparing(f)]
    order = plain + [name for name, _ in prepared]
    rows = (
        [getattr(item, name) for name in plain]
        + [f.get_db_prep_save(getattr(item, name), connection) for name, f in prepared]
        for item in items
    )
    by_name = {f.attname: f for f in fields}
    bulk_insert(model._meta.db_table, [str(by_name[name].column) for name in order], rows)


def _needs_preparing(field: models.Field) -> bool:
    """Strings, numbers and ids go to the driver as they are; dates only need Django on SQLite
    (PostgreSQL's COPY takes Python dates), JSON always does."""
    if isinstance(field, models.JSONField):
        return True
    if isinstance(field, models.DateField):  # DateTimeField is a DateField
        return connection.vendor != "postgresql"
    return False


def _carer_fields(carer: dict[str, Any]) -> dict[str, Any]:
    return {
        "given_name": carer["given_name"],
        "family_name": carer["family_name"],
        "relationship": carer["relationship"],
        "has_parental_responsibility": bool(carer["parental_responsibility"]),
        "phone": carer["phone"],
        "email": carer["email"][:254],
    }


def _date(text: str) -> datetime.date | None:
    return datetime.date.fromisoformat(text) if text else None


def materialise(records: Iterable[SourceRecord], *, fresh: bool = False) -> dict[str, int]:
    """Write the assertions of linked records; returns counts per item.

    `fresh`: the index holds no assertions from these records (a first load), so there is
    nothing of theirs to mark as history first.
    """
    records = list(records)
    materialiser = Materialiser()
    for record in records:
        materialiser.add(record)
    counts = materialiser.save(supersede=not fresh)
    SourceRecord.objects.filter(pk__in=[r.pk for r in records if r.child_id]).update(needs_linking=False)
    counts["unknown_organisations"] = len(materialiser.unknown_organisations)
    return counts
