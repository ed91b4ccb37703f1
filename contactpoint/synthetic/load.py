"""Load a synthetic population straight through the model layer, for the demo.

This uses the ground truth as its linkage (each person becomes one child), so it is only for
demonstrations and tests of what sits downstream; real files go through the feed loader and
real linkage. Values are validated with the same validators the services use, invalid ones are
left out (as the feed rules require), and survivorship picks the shown value with the same rule.
"""

import csv
import datetime
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contactpoint.feeds.sources import SOURCES
from contactpoint.records import services, validators
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
    Gender,
    GPRegistration,
    IdentifierScheme,
    Involvement,
    IssuedContactPointId,
    NameKind,
    Organisation,
    OrganisationKind,
    Practitioner,
    Source,
)

NATIONAL_BODIES = {
    "gp_registration": ("X26", "NHS England"),
    "community_health": ("X26", "NHS England"),
    "school_census": ("DFE", "Department for Education"),
    "la_childrens_services": ("DFE", "Department for Education"),
    "child_benefit": ("HMRC", "HM Revenue and Customs"),
    "youth_justice": ("YJB", "Youth Justice Board"),
    "canonical": ("CPNAT", "ContactPoint national team"),
}
BATCH = 2000


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def _date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def _valid(normalise, text: str) -> str:
    try:
        return normalise(text) if text.strip() else ""
    except ValidationError:
        return ""


@transaction.atomic
def load_population(directory: Path) -> dict[str, int]:
    """Returns counts of what was created. Refuses to load twice into the same database."""
    if Child.objects.exists():
        raise ValueError("The index already holds children; the demo loader only fills an empty one.")
    manifest = json.loads((directory / "manifest.json").read_text())
    sources = _sources()
    organisations = _organisations(directory / "organisations.csv")
    truth = {
        (r["source"], r["source_record_id"]): int(r["person_id"]) for r in _rows(directory / "truth.csv")
    }
    people = sorted(set(truth.values()))
    children = _children(len(people))
    child_of = dict(zip(people, children, strict=True))
    builder = _Builder(organisations, sources)
    for source_code, extracted in manifest["extracted_at"].items():
        asserted_at = timezone.make_aware(datetime.datetime.fromisoformat(extracted))
        for row in _rows(directory / f"{source_code}.csv"):
            child = child_of[truth[(source_code, row["source_record_id"])]]
            builder.add(child, sources[source_code], row, asserted_at)
    return builder.save()


def _organisations(path: Path) -> dict[str, Organisation]:
    rows = list(_rows(path))
    las = {
        r["code"]: Organisation(
            kind=r["kind"],
            code=r["code"],
            name=r["name"],
            phone=r["phone"],
            email=r["email"],
            town=r["town"],
            postcode=r["postcode"],
            accredited=True,
        )
        for r in rows
        if r["kind"] == OrganisationKind.LOCAL_AUTHORITY
    }
    Organisation.objects.bulk_create(las.values())
    others = [
        Organisation(
            kind=r["kind"],
            code=r["code"],
            name=r["name"],
            phone=r["phone"],
            email=r["email"],
            town=r["town"],
            postcode=r["postcode"],
            local_authority=las[r["local_authority_code"]],
            accredited=True,
        )
        for r in rows
        if r["kind"] != OrganisationKind.LOCAL_AUTHORITY
    ]
    Organisation.objects.bulk_create(others, batch_size=BATCH)
    return {org.code: org for org in Organisation.objects.all()}


def _sources() -> dict[str, Source]:
    result = {}
    for definition in SOURCES:
        code, name = NATIONAL_BODIES[definition.code]
        owner, _ = Organisation.objects.get_or_create(
            kind=OrganisationKind.NATIONAL_BODY, code=code, defaults={"name": name, "accredited": True}
        )
        result[definition.code], _ = Source.objects.get_or_create(
            code=definition.code,
            defaults={
                "name": definition.name,
                "organisation": owner,
                "obligation": definition.obligation,
                "authority_rank": definition.authority_rank,
                "identifiers_private": definition.identifiers_private,
            },
        )
    return result


def _children(count: int) -> list[Child]:
    ids: set[str] = set()
    while len(ids) < count:
        ids.add(services.contactpoint_id_generate())
    ordered = sorted(ids)
    IssuedContactPointId.objects.bulk_create(
        [IssuedContactPointId(value=v) for v in ordered], batch_size=BATCH
    )
    Child.objects.bulk_create([Child(contactpoint_id=v) for v in ordered], batch_size=BATCH)
    by_id = {c.contactpoint_id: c for c in Child.objects.all()}
    return [by_id[v] for v in ordered]


class _Builder:
    """Collects every assertion in memory, then applies survivorship and bulk-inserts."""

    def __init__(self, organisations: dict[str, Organisation], sources: dict[str, Source]):
        self.organisations = organisations
        self.sources = sources
        self.items: dict[type, list] = defaultdict(list)
        self.practitioners: dict[str, Practitioner] = {}

    def add(self, child: Child, source: Source, row: dict[str, str], asserted_at: datetime.datetime) -> None:
        given, family = row["given_name"].strip(), row["family_name"].strip()
        if not (given or family):
            return  # cannot be a child: a real load would quarantine it
        p = {
            "child": child,
            "source": source,
            "source_record_id": row["source_record_id"],
            "asserted_at": asserted_at,
        }
        self.items[ChildName].append(
            ChildName(**p, given_name=given, family_name=family, middle_names=row["middle_names"].strip())
        )
        if row.get("former_family_name", "").strip():
            self.items[ChildName].append(
                ChildName(
                    **p, kind=NameKind.FORMER, given_name=given, family_name=row["former_family_name"].strip()
                )
            )
        if row["gender"] in Gender.values:
            self.items[ChildGender].append(ChildGender(**p, gender=row["gender"]))
        if dob := _date(row["date_of_birth"]):
            self.items[ChildBirthDate].append(ChildBirthDate(**p, date_of_birth=dob))
        self._address(p, row)
        self._identifiers(p, row, source)
        self._carers(p, row)
        self._registrations(p, row)
        self._involvement(p, row)

    def _address(self, p: dict, row: dict[str, str]) -> None:
        postcode = _valid(validators.normalise_postcode, row["postcode"])
        if row["address_line_1"].strip() or postcode:
            self.items[ChildAddress].append(
                ChildAddress(
                    **p,
                    status=AddressStatus.CURRENT,
                    address_line_1=row["address_line_1"].strip(),
                    town=row["town"].strip(),
                    postcode=postcode,
                )
            )

    def _identifiers(self, p: dict, row: dict[str, str], source: Source) -> None:
        if nhs := _valid(validators.normalise_nhs_number, row["nhs_number"]):
            self.items[ChildIdentifier].append(
                ChildIdentifier(
                    **p, scheme=IdentifierScheme.NHS_NUMBER, value=nhs, issuer=self.organisations["X26"]
                )
            )
        if upn := _valid(validators.normalise_upn, row["upn"]):
            issuer = self.organisations.get(upn[1:4], source.organisation)
            self.items[ChildIdentifier].append(
                ChildIdentifier(**p, scheme=IdentifierScheme.UPN, value=upn, issuer=issuer)
            )

    def _carers(self, p: dict, row: dict[str, str]) -> None:
        for n in (1, 2):
            family = row.get(f"carer_{n}_family_name", "").strip()
            if family:
                self.items[Carer].append(
                    Carer(
                        **p,
                        given_name=row[f"carer_{n}_given_name"].strip(),
                        family_name=family,
                        relationship=row[f"carer_{n}_relationship"],
                        has_parental_responsibility=row[f"carer_{n}_parental_responsibility"] == "true",
                        phone=row[f"carer_{n}_phone"],
                        email=row[f"carer_{n}_email"],
                    )
                )

    def _registrations(self, p: dict, row: dict[str, str]) -> None:
        if school := self.organisations.get(row.get("school_urn", "")):
            self.items[EducationSetting].append(
                EducationSetting(**p, organisation=school, start_date=_date(row["school_start_date"]))
            )
        if gp := self.organisations.get(row.get("gp_practice_code", "")):
            self.items[GPRegistration].append(
                GPRegistration(**p, organisation=gp, start_date=_date(row["gp_registration_date"]))
            )

    def _involvement(self, p: dict, row: dict[str, str]) -> None:
        organisation = self.organisations.get(row.get("organisation_code", ""))
        if organisation is None:
            return
        practitioner = self.practitioners.get(row["practitioner_id"])
        if practitioner is None:
            practitioner = self.practitioners[row["practitioner_id"]] = Practitioner(
                source=p["source"],
                source_record_id=row["practitioner_id"],
                asserted_at=p["asserted_at"],
                organisation=organisation,
                given_name=row["practitioner_given_name"],
                family_name=row["practitioner_family_name"],
                job_title=row["practitioner_job_title"],
                phone=row["practitioner_phone"],
                email=row["practitioner_email"],
            )
        basis = row["sensitive_basis"]
        self.items[Involvement].append(
            Involvement(
                **p,
                organisation=organisation,
                service_type=row["service_type"],
                practitioner=practitioner,
                start_date=_date(row["involvement_start_date"]),
                end_date=_date(row["involvement_end_date"]),
                is_sensitive=bool(basis),
                sensitive_basis=basis,
                has_caf=row["has_caf"] == "true",
                is_lead_professional=row["is_lead_professional"] == "true",
            )
        )

    def save(self) -> dict[str, int]:
        Practitioner.objects.bulk_create(self.practitioners.values(), batch_size=BATCH)
        for model in services.CHOSEN_ITEM_MODELS:
            by_child = defaultdict(list)
            for item in self.items[model]:
                by_child[item.child_id].append(item)
            for assertions in by_child.values():
                if winner := services.survivor(assertions):
                    winner.is_chosen = True
        for model, items in self.items.items():
            model._default_manager.bulk_create(items, batch_size=BATCH)
        counts = {model.__name__: len(items) for model, items in self.items.items()}
        counts["Child"] = Child.objects.count()
        counts["Practitioner"] = len(self.practitioners)
        return counts
