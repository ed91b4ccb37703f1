"""Render the population as the files each source system would send, with their real errors.

Each source sees a child its own way: the school census uses the name a child is known by
(often a nickname), child benefit files a child under the claimant's surname, stale systems keep
a previous address, keyboards slip. A ground-truth file says which person each row is.
"""

import csv
import datetime
import json
import random
import string
from collections.abc import Callable, Iterator
from pathlib import Path

from nicknames import NickNamer

from contactpoint.feeds import columns
from contactpoint.feeds.sources import BY_CODE

from .population import ChildP, InvolvementP, Population
from .reference import LOCAL_AUTHORITIES

FEED_SOURCES = (
    "gp_registration",
    "school_census",
    "child_benefit",
    "la_childrens_services",
    "community_health",
    "youth_justice",
)
_NICKNAMER = NickNamer()
_NICKNAMES: dict[str, list[str]] = {}


def nicknames_of(given: str) -> list[str]:
    """Nicknames from the maintained `nicknames` dataset, in a stable order."""
    if given not in _NICKNAMES:
        found = _NICKNAMER.nicknames_of(given.lower())
        _NICKNAMES[given] = sorted(n.title() for n in found if len(n) > 2)
    return _NICKNAMES[given]


class Noise:
    """Error injection with rates that resemble what real feeds send."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def typo(self, text: str) -> str:
        if len(text) < 3:
            return text
        rng = self.rng
        i = rng.randrange(1, len(text) - 1)
        op = rng.random()
        if op < 0.3:
            return text[:i] + text[i + 1 :]
        if op < 0.6:
            return text[:i] + rng.choice(string.ascii_lowercase) + text[i + 1 :]
        if op < 0.85:
            return text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :]
        return text[:i] + text[i] + text[i:]

    def name(self, text: str, typo_rate: float = 0.015) -> str:
        if text and self.rng.random() < typo_rate:
            text = self.typo(text)
        if self.rng.random() < 0.02:
            text = f" {text}  "
        return text

    def date(self, day: datetime.date) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.003:
            return ""
        if roll < 0.013 and day.day <= 12 and day.day != day.month:
            return f"{day.year:04d}-{day.day:02d}-{day.month:02d}"
        if roll < 0.016:
            return f"{day.year:04d}-02-30"  # an impossible date, as some systems emit
        if roll < 0.021:
            day += datetime.timedelta(days=rng.choice((-1, 1)))
        return day.isoformat()

    def postcode(self, postcode: str) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.02:
            return ""
        if roll < 0.07:
            return postcode.replace(" ", "").lower()
        if roll < 0.075:
            return postcode[:-1] + rng.choice("ABDEFGHJLNPQRSTUWXYZ")
        return postcode

    def identifier(self, value: str, missing: float) -> str:
        roll = self.rng.random()
        if not value or roll < missing:
            return ""
        if roll < missing + 0.003:
            return value[:-1] + str((int(value[-1]) + 1) % 10) if value[-1].isdigit() else "X" + value[1:]
        return value


class FeedRenderer:
    def __init__(self, population: Population, seed: int):
        self.population = population
        self.rng = random.Random(seed * 7919 + 1)
        self.noise = Noise(self.rng)
        self.counters = dict.fromkeys(FEED_SOURCES, 0)

    def next_id(self, source: str) -> str:
        self.counters[source] += 1
        prefix = {
            "gp_registration": "GPR",
            "school_census": "SC",
            "child_benefit": "CHB",
            "la_childrens_services": "LCS",
            "community_health": "CH",
            "youth_justice": "YJ",
        }[source]
        return f"{prefix}{self.counters[source]:08d}"

    def rows(self, child: ChildP) -> Iterator[tuple[str, dict[str, str]]]:
        """Every (source, row) this child appears as, in a fixed order."""
        rng = self.rng
        if child.gp and rng.random() < 0.97:
            yield "gp_registration", self._gp(child)
        if child.school and rng.random() < 0.96:
            yield "school_census", self._school(child)
        if rng.random() < 0.92:
            yield "child_benefit", self._child_benefit(child)
        la_involvements = [i for i in child.involvements if i.service_type in ("social_care", "early_help")]
        if la_involvements:
            yield "la_childrens_services", self._la(child, la_involvements[0])
        for involvement in child.involvements:
            if involvement.service_type in ("health_visiting", "mental_health", "sexual_health"):
                yield "community_health", self._with_involvement(child, involvement, nhs_missing=0.05)
            elif involvement.service_type == "youth_justice":
                row = self._with_involvement(child, involvement, nhs_missing=0.5)
                row.update(self._carers(child, 1))
                yield "youth_justice", row

    def _core(
        self,
        child: ChildP,
        *,
        family: str | None = None,
        given: str | None = None,
        stale_address: float = 0.05,
        nhs_missing: float = 1.0,
        upn_missing: float = 1.0,
    ) -> dict[str, str]:
        rng, noise = self.rng, self.noise
        address = child.address
        if child.previous_address and rng.random() < stale_address:
            address = child.previous_address
        row = {
            "given_name": noise.name(given or child.given_name),
            "middle_names": child.middle_names if rng.random() < 0.7 else "",
            "family_name": noise.name(family or child.family_name),
            "date_of_birth": noise.date(child.dob),
            "gender": child.gender if rng.random() > 0.01 else "",
            "address_line_1": address.line_1 if rng.random() > 0.01 else "",
            "town": address.town,
            "postcode": noise.postcode(address.postcode),
            "nhs_number": noise.identifier(child.nhs_number, nhs_missing),
            "upn": noise.identifier(child.upn, upn_missing),
        }
        if rng.random() < 0.0005:
            row["given_name"] = row["family_name"] = ""  # unusable: the loader must quarantine it
        return row

    def _gp(self, child: ChildP) -> dict[str, str]:
        family = child.former_family_name if child.former_family_name and self.rng.random() < 0.5 else None
        row = self._core(child, family=family, stale_address=0.2, nhs_missing=0.01)
        row["gp_practice_code"] = child.gp.code if child.gp else ""
        row["gp_registration_date"] = child.gp_start.isoformat() if child.gp_start else ""
        return row

    def _school(self, child: ChildP) -> dict[str, str]:
        nicknames = nicknames_of(child.given_name)
        given = self.rng.choice(nicknames) if nicknames and self.rng.random() < 0.08 else None
        row = self._core(child, given=given, stale_address=0.3, upn_missing=0.02)
        row["school_urn"] = child.school.code if child.school else ""
        row["school_start_date"] = child.school_start.isoformat() if child.school_start else ""
        row.update(self._carers(child, 1))
        return row

    def _child_benefit(self, child: ChildP) -> dict[str, str]:
        rng = self.rng
        claimant = child.carers[0]
        family = None
        if claimant.family_name != child.family_name and rng.random() < 0.4:
            family = claimant.family_name  # filed under the claimant's surname
        elif child.former_family_name and rng.random() < 0.3:
            family = child.former_family_name
        row = self._core(child, family=family, stale_address=0.5)
        if rng.random() < 0.1:
            row["given_name"], row["family_name"] = row["given_name"].upper(), row["family_name"].upper()
        row.update(self._carers(child, 2))
        return row

    def _la(self, child: ChildP, involvement: InvolvementP) -> dict[str, str]:
        row = self._with_involvement(child, involvement, nhs_missing=0.3)
        row["former_family_name"] = child.former_family_name
        row.update(self._carers(child, 2))
        return row

    def _with_involvement(
        self, child: ChildP, involvement: InvolvementP, nhs_missing: float
    ) -> dict[str, str]:
        row = self._core(child, stale_address=0.02, nhs_missing=nhs_missing)
        practitioner = involvement.practitioner
        row.update(
            {
                "service_type": involvement.service_type,
                "organisation_code": involvement.org.code,
                "practitioner_id": practitioner.pid,
                "practitioner_given_name": practitioner.given_name,
                "practitioner_family_name": practitioner.family_name,
                "practitioner_job_title": practitioner.job_title,
                "practitioner_phone": practitioner.phone,
                "practitioner_email": practitioner.email,
                "involvement_start_date": involvement.start.isoformat(),
                "involvement_end_date": involvement.end.isoformat() if involvement.end else "",
                "sensitive_basis": involvement.sensitive_basis,
                "has_caf": "true" if involvement.has_caf else "false",
                "is_lead_professional": "true" if involvement.is_lead_professional else "false",
            }
        )
        return row

    def _carers(self, child: ChildP, limit: int) -> dict[str, str]:
        row: dict[str, str] = {}
        for n, carer in enumerate(child.carers[:limit], 1):
            row.update(
                {
                    f"carer_{n}_given_name": carer.given_name,
                    f"carer_{n}_family_name": carer.family_name,
                    f"carer_{n}_relationship": carer.relationship,
                    f"carer_{n}_parental_responsibility": "true"
                    if carer.parental_responsibility
                    else "false",
                    f"carer_{n}_phone": carer.phone,
                    f"carer_{n}_email": carer.email,
                }
            )
        return row


# A later delivery from children's services closing cases that ended long ago: children it leaves
# known to no service are what a targeted deployment's scope review archives.
CLOSURES_SOURCE = "la_childrens_services"
CLOSURES_FILE = "la_childrens_services-closures.csv"
CLOSED_SHARE = 0.25
CLOSED_BEFORE = datetime.timedelta(days=365)  # well past any scope's grace period


def _closing(row: dict[str, str], as_of: datetime.date) -> bool:
    started = row["involvement_start_date"]
    return not row["involvement_end_date"] and started < (as_of - CLOSED_BEFORE).isoformat()


def _closures(candidates: list[dict[str, str]], *, seed: int, as_of: datetime.date) -> list[dict[str, str]]:
    """The same records re-sent with their involvement ended (a separate generator: the feeds
    themselves are unchanged by it)."""
    rng = random.Random(seed * 104729 + 7)
    closed = []
    for row in candidates:
        if rng.random() >= CLOSED_SHARE:
            continue
        start = datetime.date.fromisoformat(row["involvement_start_date"])
        latest = as_of - CLOSED_BEFORE
        end = start + datetime.timedelta(days=rng.randint(0, (latest - start).days))
        closed.append({**row, "involvement_end_date": end.isoformat(), "is_lead_professional": "false"})
    return closed


# The ground truth's people file (children.csv): one row per person, as benchmarks read it.
PEOPLE_COLUMNS = (
    "person_id",
    "household_id",
    "birth_group",
    "given_name",
    "middle_names",
    "family_name",
    "former_family_name",
    "gender",
    "date_of_birth",
    "nhs_number",
    "upn",
    "postcode",
    "local_authority_code",
)


def person_row(child) -> tuple:
    """One person's row of the people file, in PEOPLE_COLUMNS order."""
    return (
        child.pid,
        child.household,
        child.birth_group,
        child.given_name,
        child.middle_names,
        child.family_name,
        child.former_family_name,
        child.gender,
        child.dob.isoformat(),
        child.nhs_number,
        child.upn,
        child.address.postcode,
        LOCAL_AUTHORITIES[child.address.la_index].number,
    )


def write_population(
    *,
    children: int,
    seed: int,
    out: Path,
    as_of: datetime.date,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Generate and write feeds, organisations, ground truth and a manifest. Returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    population = Population(children=children, seed=seed, as_of=as_of)
    people = population.generate()
    renderer = FeedRenderer(population, seed)
    closing: list[dict[str, str]] = []
    handles, writers = {}, {}
    for source in FEED_SOURCES:
        handles[source] = (out / f"{source}.csv").open("w", newline="", encoding="utf-8")
        header = columns.CANONICAL + BY_CODE[source].extra_columns
        writers[source] = csv.DictWriter(handles[source], fieldnames=header, restval="", extrasaction="raise")
        writers[source].writeheader()
    with (
        (out / "truth.csv").open("w", newline="", encoding="utf-8") as truth_file,
        (out / "children.csv").open("w", newline="", encoding="utf-8") as children_file,
    ):
        truth = csv.writer(truth_file)
        truth.writerow(("source", "source_record_id", "person_id"))
        people_out = csv.writer(children_file)
        people_out.writerow(PEOPLE_COLUMNS)
        for done, child in enumerate(people, 1):
            people_out.writerow(person_row(child))
            for source, row in renderer.rows(child):
                row["source_record_id"] = renderer.next_id(source)
                writers[source].writerow(row)
                truth.writerow((source, row["source_record_id"], child.pid))
                if source == CLOSURES_SOURCE and _closing(row, as_of):
                    closing.append(dict(row))
            if progress and done % 10_000 == 0:
                progress(10_000)
    for handle in handles.values():
        handle.close()
    _write_organisations(out / "organisations.csv", population)
    closed = _closures(closing, seed=seed, as_of=as_of)
    with (out / CLOSURES_FILE).open("w", newline="", encoding="utf-8") as handle:
        header = columns.CANONICAL + BY_CODE[CLOSURES_SOURCE].extra_columns
        writer = csv.DictWriter(handle, fieldnames=header, restval="", extrasaction="raise")
        writer.writeheader()
        writer.writerows(closed)
    manifest = {
        "seed": seed,
        "children": len(people),
        "as_of": as_of.isoformat(),
        "extracted_at": {
            source: (as_of - datetime.timedelta(days=offset)).isoformat()
            for offset, source in enumerate(FEED_SOURCES)
        },
        "rows": dict(renderer.counters),
        "follow_up": [
            {
                "source": CLOSURES_SOURCE,
                "file": CLOSURES_FILE,
                "extracted_at": as_of.isoformat(),
                "rows": len(closed),
            }
        ],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _write_organisations(path: Path, population: Population) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns.ORGANISATIONS)
        for org in population.orgs:
            writer.writerow(
                (org.kind, org.code, org.name, org.la_code, org.phone, org.email, org.town, org.postcode)
            )
