"""A synthetic population of English children living in households.

The population is the ground truth; feeds.py renders what each source system would say about
it, errors included. Everything is drawn from one seeded random.Random, in a fixed order, so
the same seed gives the same population byte for byte (no set or dict-order dependence).
Phone numbers come from Ofcom's ranges reserved for drama, NHS numbers start 99 and emails use
the .example domain, so nothing generated can reach or match a real person.
"""

import datetime
import random
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate

from faker.providers.person.en_GB import Provider as PersonNames

from contactpoint.records.validators import nhs_check_digit, upn_check_letter

from . import reference as ref

CHILDREN_PER_SCHOOL = 350
CHILDREN_PER_GP_PRACTICE = 900
PRACTITIONERS_PER_SERVICE = 12


class WeightedChoice:
    """random.choices with the cumulative weights computed once, for millions of draws."""

    def __init__(self, items, weights):
        self.items = list(items)
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random):
        return self.items[bisect(self.cum, rng.random() * self.total)]


def _zipf(names):
    unique = list(dict.fromkeys(names))
    return WeightedChoice(unique, [1 / (rank + 8) for rank in range(len(unique))])


BOY_NAMES = _zipf(ref.BOYS)
GIRL_NAMES = _zipf(ref.GIRLS)
SURNAMES = WeightedChoice(PersonNames.last_names.keys(), PersonNames.last_names.values())
ADULT_MALE = WeightedChoice(PersonNames.first_names_male, [1] * len(PersonNames.first_names_male))
ADULT_FEMALE = WeightedChoice(PersonNames.first_names_female, [1] * len(PersonNames.first_names_female))


@dataclass(frozen=True)
class Org:
    kind: str
    code: str
    name: str
    la_code: str
    phone: str
    email: str
    town: str
    postcode: str
    establishment: int = 0  # schools: the DfE establishment number inside UPNs


@dataclass(frozen=True)
class PractitionerP:
    pid: str
    org: Org
    given_name: str
    family_name: str
    job_title: str
    phone: str
    email: str


@dataclass(frozen=True)
class Address:
    line_1: str
    town: str
    postcode: str
    la_index: int


@dataclass
class CarerP:
    given_name: str
    family_name: str
    relationship: str
    parental_responsibility: bool
    phone: str
    email: str


@dataclass
class InvolvementP:
    service_type: str
    org: Org
    practitioner: PractitionerP
    start: datetime.date
    end: datetime.date | None
    sensitive_basis: str = ""
    has_caf: bool = False
    is_lead_professional: bool = False


@dataclass
class ChildP:
    pid: int
    household: int
    birth_group: int  # children born together (twins, triplets) share it; singletons have their own
    given_name: str
    middle_names: str
    family_name: str
    former_family_name: str
    gender: str
    dob: datetime.date
    address: Address
    previous_address: Address | None
    carers: list[CarerP]
    nhs_number: str = ""
    upn: str = ""
    school: Org | None = None
    school_start: datetime.date | None = None
    gp: Org | None = None
    gp_start: datetime.date | None = None
    involvements: list[InvolvementP] = field(default_factory=list)

    def age_on(self, day: datetime.date) -> int:
        return day.year - self.dob.year - ((day.month, day.day) < (self.dob.month, self.dob.day))


class Population:
    """Households of children, and the organisations that serve them, for one local area set."""

    def __init__(self, *, children: int, seed: int, as_of: datetime.date):
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.target = children
        self.la_choice = WeightedChoice(
            range(len(ref.LOCAL_AUTHORITIES)), [la.weight for la in ref.LOCAL_AUTHORITIES]
        )
        self.orgs: list[Org] = []
        self.practitioners: list[PractitionerP] = []
        self._org_counter = 0
        self._nhs_used = bytearray(10**7)  # by the number's 7 drawn digits
        self._upn_serial: dict[tuple[int, int], int] = {}
        self._birth_group = 0
        self._made = 0  # children drawn so far: the next one's pid
        self.children: list[ChildP] = []
        self._build_organisations()

    # -- organisations -------------------------------------------------------------------

    def _build_organisations(self) -> None:
        total_weight = sum(la.weight for la in ref.LOCAL_AUTHORITIES)
        self.by_la: list[dict[str, list[Org]]] = []
        self.staff_by_la: list[dict[str, list[PractitionerP]]] = []
        for index, la in enumerate(ref.LOCAL_AUTHORITIES):
            expected = self.target * la.weight / total_weight
            la_org = self._org("local_authority", str(la.number), la.name, index)
            area = {
                "la": [la_org],
                "school": [
                    self._org(
                        "school",
                        f"1{la.number:03d}{n:03d}",
                        f"{self._place(index)} {kind} School",
                        index,
                        establishment=2000 + n,
                    )
                    for n, kind in enumerate(self._school_kinds(expected))
                ],
                "gp": [
                    self._org(
                        "gp_practice",
                        f"{'ABCDEFGHJKLMNPQ'[index % 15]}{la.number:03d}{n:03d}",
                        f"{self._place(index)} Medical Practice {n + 1}",
                        index,
                    )
                    for n in range(max(2, round(expected / CHILDREN_PER_GP_PRACTICE)))
                ],
                "health": [
                    self._org(
                        "service_provider",
                        f"RH{la.number}",
                        f"{self._place(index)} Community Health NHS Trust",
                        index,
                    )
                ],
                "camhs": [
                    self._org("service_provider", f"RC{la.number}", f"{self._place(index)} CAMHS", index)
                ],
                "sexual_health": [
                    self._org(
                        "service_provider",
                        f"RS{la.number}",
                        f"{self._place(index)} Sexual Health Clinic",
                        index,
                    )
                ],
                "yot": [
                    self._org(
                        "service_provider", f"YOT{la.number}", f"{la.name} Youth Justice Service", index
                    )
                ],
                "voluntary": [
                    self._org(
                        "voluntary_body", f"V{la.number}", f"{self._place(index)} Family Support Trust", index
                    )
                ],
            }
            self.staff_by_la.append(
                {
                    key: [
                        self._practitioner(org, key)
                        for org in area[key]
                        for _ in range(PRACTITIONERS_PER_SERVICE)
                    ]
                    for key in ("la", "health", "camhs", "sexual_health", "yot", "voluntary")
                }
            )
            self.by_la.append(area)

    def _school_kinds(self, expected: float) -> list[str]:
        count = max(3, round(expected / CHILDREN_PER_SCHOOL))
        kinds = ("Primary", "Infant", "Junior", "Academy", "High", "Secondary")
        return [self.rng.choice(kinds) for _ in range(count)]

    def _place(self, la_index: int) -> str:
        town, _ = self.rng.choice(ref.LOCAL_AUTHORITIES[la_index].towns)
        return f"{self.rng.choice(ref.STREET_WORDS)} {town}" if self.rng.random() < 0.6 else town

    def _org(self, kind: str, code: str, name: str, la_index: int, establishment: int = 0) -> Org:
        self._org_counter += 1
        address = self._address(la_index)
        la_number = ref.LOCAL_AUTHORITIES[la_index].number
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:24]
        org = Org(
            kind=kind,
            code=code,
            name=name,
            la_code=str(la_number),
            phone=f"0113 496 {self._org_counter % 1000:04d}",
            email=f"contact@{slug}.example",
            town=address.town,
            postcode=address.postcode,
            establishment=establishment,
        )
        self.orgs.append(org)
        return org

    def _practitioner(self, org: Org, service: str) -> PractitionerP:
        titles = {
            "la": (
                "Social Worker",
                "Senior Social Worker",
                "Early Help Practitioner",
                "Family Support Worker",
            ),
            "health": ("Health Visitor", "School Nurse"),
            "camhs": ("CAMHS Practitioner", "Clinical Psychologist"),
            "sexual_health": ("Sexual Health Nurse",),
            "yot": ("Youth Justice Officer",),
            "voluntary": ("Family Support Worker", "Youth Worker"),
        }[service]
        female = self.rng.random() < 0.7
        given = (ADULT_FEMALE if female else ADULT_MALE)(self.rng)
        family = SURNAMES(self.rng)
        number = len(self.practitioners)
        practitioner = PractitionerP(
            pid=f"P{number:06d}",
            org=org,
            given_name=given,
            family_name=family,
            job_title=self.rng.choice(titles),
            phone=f"07700 900{number % 1000:03d}",
            email=f"{given.lower()}.{family.lower().replace(' ', '')}@{org.email.split('@')[1]}",
        )
        self.practitioners.append(practitioner)
        return practitioner

    # -- people --------------------------------------------------------------------------

    def _address(self, la_index: int) -> Address:
        rng = self.rng
        town, districts = rng.choice(ref.LOCAL_AUTHORITIES[la_index].towns)
        inward = f"{rng.randint(1, 9)}{rng.choice(ref.INWARD_LETTERS)}{rng.choice(ref.INWARD_LETTERS)}"
        street = f"{rng.choice(ref.STREET_WORDS)} {rng.choice(ref.STREET_SUFFIXES)}"
        return Address(f"{rng.randint(1, 180)} {street}", town, f"{rng.choice(districts)} {inward}", la_index)

    def _nhs_number(self) -> str:
        """A number not given before: its check digit follows from its body, so a body is
        marked used (one byte each, 10 MB whatever the population's size)."""
        while True:
            drawn = self.rng.randrange(10**7)
            body = f"99{drawn:07d}"
            check = nhs_check_digit(body)
            if check is not None and not self._nhs_used[drawn]:
                self._nhs_used[drawn] = 1
                return f"{body}{check}"

    def _upn(self, la_index: int, school: Org, entry: datetime.date) -> str:
        la_number = ref.LOCAL_AUTHORITIES[la_index].number
        key = (school.establishment, entry.year)
        serial = self._upn_serial[key] = self._upn_serial.get(key, 0) + 1
        body = f"{la_number:03d}{school.establishment:04d}{entry.year % 100:02d}{serial % 1000:03d}"
        return upn_check_letter(body) + body

    def generate(self) -> list[ChildP]:
        """Every child in one list (kept as `children`): for callers that need them all at once."""
        if not self.children:
            self.children = [child for household in self.households() for child in household]
        return self.children

    def households(self) -> Iterator[list[ChildP]]:
        """Each household's children in turn, the last cut to the target: the same children as
        generate(), without holding them all (a 3M build streams them to its workers)."""
        household = 0
        while self._made < self.target:
            household += 1
            children = self._household(household)
            yield children[: self.target - (self._made - len(children))]

    def _household(self, household: int) -> list[ChildP]:
        rng = self.rng
        la_index = self.la_choice(rng)
        address = self._address(la_index)
        moved = rng.random() < 0.15
        previous = self._address(la_index if rng.random() < 0.8 else self.la_choice(rng)) if moved else None
        carers, surname = self._carers(address)
        births = rng.choices((1, 2, 3, 4, 5), weights=(40, 38, 15, 5, 2))[0]
        day = self.as_of - datetime.timedelta(days=rng.randint(0, 17 * 365))
        children: list[ChildP] = []
        for _ in range(births):
            if day > self.as_of:
                break
            size = 2 if rng.random() < 0.016 else (3 if rng.random() < 0.0003 else 1)
            self._birth_group += 1
            used: list[str] = []
            children.extend(
                self._child(household, surname, carers, address, previous, la_index, day, used)
                for _ in range(size)
            )
            day += datetime.timedelta(days=rng.randint(400, 1800))
        return children

    def _carers(self, address: Address) -> tuple[list[CarerP], str]:
        """Mothers keep their own surname in a quarter of households; step-parents bring theirs."""
        rng = self.rng
        family = SURNAMES(rng)
        mother_surname = family if rng.random() < 0.75 else SURNAMES(rng)
        carers = [self._carer(ADULT_FEMALE(rng), mother_surname, "mother")]
        roll = rng.random()
        if roll < 0.6:
            carers.append(self._carer(ADULT_MALE(rng), family, "father"))
        elif roll < 0.7:
            carers.append(self._carer(ADULT_MALE(rng), SURNAMES(rng), "step_parent", responsibility=False))
        elif roll < 0.73:
            carers = [self._carer(ADULT_FEMALE(rng), SURNAMES(rng), "foster_carer", responsibility=False)]
        elif roll < 0.76:
            carers.insert(
                0, self._carer(ADULT_FEMALE(rng), mother_surname, "grandparent", responsibility=False)
            )
        child_surname = family if rng.random() < 0.85 else mother_surname
        return carers, child_surname

    def _carer(self, given: str, family: str, relationship: str, responsibility: bool = True) -> CarerP:
        n = self.rng.randrange(1000)
        return CarerP(
            given_name=given,
            family_name=family,
            relationship=relationship,
            parental_responsibility=responsibility,
            phone=f"07700 900{n:03d}",
            email=f"{given.lower()}.{family.lower().replace(' ', '')}{n}@mail.example",
        )

    def _child(self, household, surname, carers, address, previous, la_index, dob, used) -> ChildP:
        rng = self.rng
        roll = rng.random()
        gender = "not_specified" if roll < 0.003 else ("female" if roll < 0.49 else "male")
        names = (
            GIRL_NAMES
            if gender == "female" or (gender == "not_specified" and rng.random() < 0.5)
            else BOY_NAMES
        )
        given = names(rng)
        while given in used:  # twins are never given the same first name
            given = names(rng)
        used.append(given)
        middle = names(rng) if rng.random() < 0.6 else ""
        former = SURNAMES(rng) if rng.random() < 0.02 else ""
        self._made += 1
        child = ChildP(
            pid=self._made,
            household=household,
            birth_group=self._birth_group,
            given_name=given,
            middle_names=middle if middle != given else "",
            family_name=surname,
            former_family_name=former if former != surname else "",
            gender=gender,
            dob=dob,
            address=address,
            previous_address=previous,
            carers=carers,
        )
        self._registrations(child, la_index)
        self._services(child, la_index)
        return child

    def _registrations(self, child: ChildP, la_index: int) -> None:
        rng = self.rng
        area = self.by_la[la_index]
        child.nhs_number = self._nhs_number()
        child.gp = rng.choice(area["gp"])
        child.gp_start = child.dob + datetime.timedelta(days=rng.randint(7, 60))
        age = child.age_on(self.as_of)
        if 4 <= age <= 16:
            child.school = rng.choice(area["school"])
            start_age = 4 if age < 11 else 11
            child.school_start = datetime.date(child.dob.year + start_age + (child.dob.month > 8), 9, 1)
            if child.school_start > self.as_of:
                child.school_start = datetime.date(self.as_of.year, 9, 1)
            child.upn = self._upn(
                la_index, child.school, datetime.date(child.dob.year + 4 + (child.dob.month > 8), 9, 1)
            )

    def _services(self, child: ChildP, la_index: int) -> None:
        rng = self.rng
        age = child.age_on(self.as_of)
        if rng.random() < ref.SOCIAL_CARE_SHARE:
            child.involvements.append(
                self._involvement(
                    child, "social_care", la_index, "la", lead=rng.random() < 0.7, caf=rng.random() < 0.3
                )
            )
        elif rng.random() < ref.EARLY_HELP_SHARE:
            key = "voluntary" if rng.random() < 0.3 else "la"
            child.involvements.append(
                self._involvement(
                    child, "early_help", la_index, key, lead=rng.random() < 0.8, caf=rng.random() < 0.7
                )
            )
        if rng.random() < ref.HEALTH_SERVICE_SHARE:
            if age < 5:
                child.involvements.append(self._involvement(child, "health_visiting", la_index, "health"))
            elif age >= 13 and rng.random() < 0.3:
                basis = "consent" if rng.random() < 0.85 else "significant_harm"
                child.involvements.append(
                    self._involvement(child, "sexual_health", la_index, "sexual_health", basis=basis)
                )
            else:
                basis = "consent" if rng.random() < 0.8 else "significant_harm"
                child.involvements.append(
                    self._involvement(child, "mental_health", la_index, "camhs", basis=basis)
                )
        if age >= 10 and rng.random() < ref.YOUTH_JUSTICE_SHARE_10_17:
            child.involvements.append(self._involvement(child, "youth_justice", la_index, "yot"))

    def _involvement(self, child, service, la_index, key, *, lead=False, caf=False, basis="") -> InvolvementP:
        rng = self.rng
        start = max(child.dob, self.as_of - datetime.timedelta(days=rng.randint(10, 900)))
        ended = rng.random() < 0.2
        end = min(self.as_of, start + datetime.timedelta(days=rng.randint(30, 400))) if ended else None
        practitioner = rng.choice(self.staff_by_la[la_index][key])
        return InvolvementP(
            service, practitioner.org, practitioner, start, end, basis, caf, lead and not ended
        )
