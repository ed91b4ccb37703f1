"""The search's cheaper ranking returns what scoring every pair in full returns, whatever it skips.

The search scores each candidate child's pairs from a memo and reads the scope only for children
that could reach MINIMUM_EVIDENCE as seen or as shown by a shield. These tests rank generated
populations both ways (`reference.rank_exhaustive` reads the scope of every candidate) and fail
if the two differ in any child, order, score or matched field: a child pruned that belonged in the
results would show here.
"""

import datetime
import functools
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactpoint.access.door import FoundChild
from contactpoint.linkage.features import Features, district
from contactpoint.linkage.frame import record_features
from contactpoint.linkage.model import candidate_keys
from contactpoint.linkage.scoring import current_model
from contactpoint.search.selectors import (
    MINIMUM_EVIDENCE,
    SearchCriteria,
    _queries,
    _rank,
    _scoring,
    _search_keys,
    _worth_scoping,
)
from contactpoint.search.tests.reference import rank_exhaustive
from contactpoint.synthetic.feeds import FeedRenderer, Noise
from contactpoint.synthetic.population import ChildP, Population

CHILDREN = 400


@functools.cache
def population() -> tuple[list[ChildP], dict[int, list[Features]], dict[str, set[int]]]:
    """People, their records as the feeds render them (typos, nicknames, stale addresses), and the
    blocking-key index a search's candidates come from."""
    people = Population(children=CHILDREN, seed=5, as_of=datetime.date(2026, 10, 1)).generate()
    renderer = FeedRenderer(Population(children=CHILDREN, seed=5, as_of=datetime.date(2026, 10, 1)), seed=5)
    records: dict[int, list[Features]] = {}
    index: dict[str, set[int]] = {}
    for number, child in enumerate(people):
        rows = [row for _, row in renderer.rows(child) if _valid_date(row["date_of_birth"])]
        records[number] = [record_features(row) for row in rows] or [
            record_features({"given_name": child.given_name, "family_name": child.family_name})
        ]
        for record in records[number]:
            for key in candidate_keys(record):
                index.setdefault(key, set()).add(number)
    return people, records, index


def _valid_date(text: str) -> bool:
    """The loader quarantines a row whose birth date is not a date (a swap past the 12th)."""
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def typed(rng: random.Random, child: ChildP, exact: bool) -> SearchCriteria:
    """As a practitioner types a child's details: slips, a missing given name, the day and month
    swapped, a postcode or its district."""
    noise = Noise(rng)
    given_name = child.given_name if rng.random() < 0.7 else rng.choice(["", noise.typo(child.given_name)])
    family = child.family_name if rng.random() < 0.85 else noise.typo(child.family_name)
    born = child.dob
    if rng.random() < 0.1 and born.day <= 12 and born.day != born.month:
        born = datetime.date(born.year, born.day, born.month)
    postcode = rng.choice(["", child.address.postcode, district(child.address.postcode) or ""])
    return SearchCriteria(
        given_name=given_name, family_name=family, date_of_birth=born, postcode=postcode, exact=exact
    )


def found(number: int, child: ChildP, restricted: bool) -> FoundChild:
    return FoundChild(
        pk=number,
        contactpoint_id=f"CP{number:06d}",
        restricted=restricted,
        given_name=child.given_name,
        family_name=child.family_name,
        date_of_birth=child.dob,
        gender=child.gender,
        postcode_district="" if restricted else district(child.address.postcode) or "",
    )


def both_ways(criteria: SearchCriteria, candidates: list[int], shielded: set[int]):
    """(the search's ranking with its pruned scope, the exhaustive ranking with every candidate's)."""
    people, records, _ = population()
    model = current_model()
    by_child = {n: records[n] for n in candidates}
    scope = {n: found(n, people[n], n in shielded) for n in candidates}
    scoring = _scoring(criteria, by_child, model)
    worth = _worth_scoping(criteria, scoring)
    pruned = _rank(criteria, by_child, {n: scope[n] for n in worth}, scoring)
    return pruned, rank_exhaustive(criteria, by_child, scope, model), len(candidates) - len(worth)


def candidates_for(criteria: SearchCriteria, extra: list[int]) -> list[int]:
    _, _, index = population()
    keys = [key for query in _queries(criteria) for key in _search_keys(query, criteria)]
    return sorted({n for key in keys for n in index.get(key, ())} | set(extra))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    target=st.integers(0, CHILDREN - 1),
    seed=st.integers(0, 2**16),
    exact=st.booleans(),
    extra=st.lists(st.integers(0, CHILDREN - 1), max_size=25),
    shielded=st.sets(st.integers(0, CHILDREN - 1), max_size=60),
    named=st.sampled_from([None, "target", "other"]),
)
def test_pruned_ranking_equals_the_exhaustive_one(target, seed, exact, extra, shielded, named):
    people, _, _ = population()
    criteria = typed(random.Random(seed), people[target], exact)
    if named:
        number = target if named == "target" else (target + 1) % CHILDREN
        criteria = SearchCriteria(**{**criteria.__dict__, "contactpoint_id": f"cp{number:06d}"})
    candidates = candidates_for(criteria, extra)
    pruned, exhaustive, _ = both_ways(criteria, candidates, shielded)
    assert pruned == exhaustive


def test_pruning_skips_children_yet_keeps_every_result():
    """Over many typed searches the scope is read for fewer children and nothing changes, and the
    comparison is not empty: most searches return children, some shielded."""
    people, _, _ = population()
    rng = random.Random(7)
    skipped = returned = shielded_returned = 0
    for _ in range(150):
        target = rng.randrange(CHILDREN)
        criteria = typed(rng, people[target], exact=rng.random() < 0.2)
        relatives = [n for n, p in enumerate(people) if p.household == people[target].household]
        candidates = candidates_for(criteria, [*relatives, *rng.sample(range(CHILDREN), 10)])
        shielded = set(rng.sample(candidates, len(candidates) // 3))
        pruned, exhaustive, pruned_away = both_ways(criteria, candidates, shielded)
        assert pruned == exhaustive
        skipped += pruned_away
        returned += len(pruned)
        shielded_returned += sum(hit.shielded for hit in pruned)
    assert skipped > 1000 and returned > 100 and shielded_returned > 5
    assert MINIMUM_EVIDENCE > 0  # the bound the pruning relies on
