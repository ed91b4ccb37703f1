"""Finding a child: the one search used by the web UI, the REST API and FHIR.

Candidates come from the linkage candidate index (the same blocking keys as linkage), each is
scored in-process by the same match model, and each child takes the score of its best-matching
source record (a child is found by a former name or an old address as PDS finds them). Access
rules apply inside the search: a child shielded from the searcher is scored on the fields a
shielded record shows (names, gender, birth date), and a search that uses a field the shield
hides (postcode, NHS number, UPN) does not return it at all (domain rules, section 4): an answer
to "this name at this address" would confirm where the child lives.
Every search is audited with its criteria and the ids it returned, in the same transaction.
"""

import datetime
import math
from dataclasses import asdict, dataclass
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.db import transaction

from contactpoint.access.actors import Actor
from contactpoint.access.door import FoundChild, child_pks_for, search_scope
from contactpoint.audit.models import EventType
from contactpoint.audit.services import audit_record
from contactpoint.linkage.candidates import candidates_by_child, records_of_children
from contactpoint.linkage.features import Features, district, features, swapped
from contactpoint.linkage.model import COMPARISONS, candidate_keys
from contactpoint.linkage.pairs import PairScorer
from contactpoint.linkage.scoring import MatchModel, Scored, current_model

DEFAULT_LIMIT = 20
MAX_LIMIT = 50
MAX_RANGE_DAYS = 366
MINIMUM_EVIDENCE = 6.0  # below this a candidate shares too little with the query to show
SHIELD_VISIBLE = ("given_name", "family_name", "date_of_birth", "gender")
FIELD_OF = {
    "given_name": "given_name",
    "family_name": "family_name",
    "date_of_birth": "date_of_birth",
    "gender": "gender",
    "location": "postcode",
    "nhs_number": "nhs_number",
    "upn": "upn",
}


class CriteriaTooWeak(ValidationError):
    pass


@dataclass(frozen=True)
class SearchCriteria:
    given_name: str = ""
    family_name: str = ""
    date_of_birth: datetime.date | None = None
    date_of_birth_to: datetime.date | None = None
    gender: str = ""
    postcode: str = ""
    nhs_number: str = ""
    upn: str = ""
    contactpoint_id: str = ""
    exact: bool = False

    def has_identifier(self) -> bool:
        return bool(self.nhs_number or self.upn or self.contactpoint_id)


@dataclass(frozen=True)
class SearchHit:
    id: str
    score: float
    given_name: str
    family_name: str
    date_of_birth: datetime.date | None
    gender: str
    postcode_district: str
    matched: tuple[str, ...]
    shielded: bool


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]
    too_many: bool


def criteria_check(criteria: SearchCriteria) -> None:
    """As NHS PDS: an identifier, or a family name with a date of birth (a given name helps)."""
    _range_check(criteria)
    if criteria.has_identifier():
        return
    if not criteria.family_name.strip() or criteria.date_of_birth is None:
        raise CriteriaTooWeak(
            "Search needs an NHS number, UPN or ContactPoint ID, or at least a family name and a "
            "date of birth (adding a given name, gender or postcode narrows the results)."
        )


def _range_check(criteria: SearchCriteria) -> None:
    """Checked whatever else is given: every day of a range becomes a lookup."""
    if criteria.date_of_birth_to is None:
        return
    if criteria.date_of_birth is None:
        raise CriteriaTooWeak("A date of birth range needs its first date as well as its last.")
    span = (criteria.date_of_birth_to - criteria.date_of_birth).days
    if span < 0 or span > MAX_RANGE_DAYS:
        raise CriteriaTooWeak("A date of birth range must run forwards and span at most a year.")


def children_search(
    *, actor: Actor, criteria: SearchCriteria, limit: int = DEFAULT_LIMIT, client: str = ""
) -> SearchResult:
    """Raises CriteriaTooWeak below the minimum criteria; writes the SEARCH audit event itself."""
    criteria_check(criteria)
    limit = max(1, min(limit, MAX_LIMIT))
    model = current_model()
    with transaction.atomic():
        ranked = _ranked(actor, criteria, _candidates(criteria), model)
        too_many = len(ranked) > limit and ranked[limit].score >= _strong(model)
        hits = [] if too_many else ranked[:limit]
        audit_record(
            event_type=EventType.SEARCH,
            actor=actor,
            child_ids=[h.id for h in hits],
            client=client,
            details={
                "criteria": _audited(criteria),
                "returned_ids": [h.id for h in hits],
                "too_many": too_many,
            },
        )
    return SearchResult(hits=hits, too_many=too_many)


def _strong(model: MatchModel) -> float:
    return round(100 * model.probability(model.thresholds.auto), 1)


def _audited(criteria: SearchCriteria) -> dict[str, str]:
    return {k: str(v) for k, v in asdict(criteria).items() if v not in ("", None, False)}


def _queries(criteria: SearchCriteria, *, swapped_dates: bool = True) -> list[Features]:
    """The query as features, with the variants practitioners' typing needs (swapped day and
    month, given and family names the wrong way round, each day of a range).

    The swapped date finds the candidates born on it; ranking leaves it out (`swapped_dates`), as
    the model has its own level for a swapped date: scored as typed, a child born on the swapped
    day ranked level with one born on the day typed (ADR 0018)."""
    base = dict(
        given_name=criteria.given_name,
        family_name=criteria.family_name,
        gender=criteria.gender,
        postcode=criteria.postcode if " " in criteria.postcode.strip() else "",
        nhs_number=criteria.nhs_number,
        upn=criteria.upn,
    )
    dates = _dates(criteria)
    queries = [features(**base, date_of_birth=d) for d in dates]
    if not criteria.exact:
        queries += [
            features(**base, date_of_birth=swap)
            for d in dates[:1]
            if swapped_dates and (swap := swapped(d.isoformat() if d else None))
        ]
        queries.append(
            features(
                **{**base, "given_name": criteria.family_name, "family_name": criteria.given_name},
                date_of_birth=dates[0],
            )
        )
    return [_district_typed(q, criteria) for q in queries]


def _district_typed(query: Features, criteria: SearchCriteria) -> Features:
    """A postcode typed without its inward code is a district: the query holds it as its district
    with no postcode, which the model alone would leave unknown (see `_score`)."""
    typed = criteria.postcode.strip()
    if not typed or " " in typed:
        return query
    return Features(**{**query, "district": district(typed)})  # type: ignore[typeddict-item]


def _dates(criteria: SearchCriteria) -> list[datetime.date | None]:
    if criteria.date_of_birth is None or criteria.date_of_birth_to is None:
        return [criteria.date_of_birth]
    days = (criteria.date_of_birth_to - criteria.date_of_birth).days
    return [criteria.date_of_birth + datetime.timedelta(days=n) for n in range(days + 1)]


def _candidates(criteria: SearchCriteria) -> dict[int, list[Features]]:
    by_child = dict(records_of_children(_identified(criteria))) if criteria.has_identifier() else {}
    if criteria.family_name or criteria.given_name:
        keys = [key for query in _queries(criteria) for key in _search_keys(query, criteria)]
        for child, records in candidates_by_child(keys, similar_family=_similar_family(criteria)).items():
            by_child.setdefault(child, records)
    return by_child


def _similar_family(criteria: SearchCriteria) -> tuple[str, list[datetime.date]] | None:
    """Fuzzy mode with one birth date: also the children born then (or on the day and month
    swapped) whose family name is spelled alike, when a slip changed how the name sounds."""
    if criteria.exact or not criteria.family_name.strip() or criteria.date_of_birth is None:
        return None
    if criteria.date_of_birth_to is not None:
        return None  # a range's days use the keys only: a year of trigram scans costs too much
    born = criteria.date_of_birth
    swap = swapped(born.isoformat())
    return criteria.family_name, [born, *([datetime.date.fromisoformat(swap)] if swap else [])]


def _identified(criteria: SearchCriteria) -> list[int]:
    ids = [criteria.contactpoint_id.strip().upper()] if criteria.contactpoint_id else []
    return child_pks_for(contactpoint_ids=ids, nhs_number=criteria.nhs_number, upn=criteria.upn)


def _search_keys(query: Features, criteria: SearchCriteria) -> list[str]:
    keys = candidate_keys(query)
    if not criteria.exact and query["given_aliases"] and query["family"]:
        # A nickname typed for a formal name, or the other way round.
        keys += [k for alias in query["given_aliases"] for k in candidate_keys(replace_given(query, alias))]
    return keys


def replace_given(query: Features, alias: str) -> Features:
    return Features(**{**query, "given": alias})  # type: ignore[typeddict-item]


def _ranked(
    actor: Actor, criteria: SearchCriteria, candidates: dict[int, list[Features]], model: MatchModel
) -> list[SearchHit]:
    """The acceptable candidates best first; the scope is read only for those that could be."""
    scoring = _scoring(criteria, candidates, model)
    scope = search_scope(actor, sorted(_worth_scoping(criteria, scoring)))
    return _rank(criteria, candidates, scope, scoring)


class _SearchScorer(PairScorer):
    """The model's evidence, with a district typed alone compared as districts (`_district_scored`,
    in the same arithmetic, so the same float)."""

    def __init__(self, model: MatchModel, queries: list[Features]) -> None:
        super().__init__(model, queries)
        self._district_alone = [q["district"] if q["postcode"] is None else None for q in self.queries]
        self._district_weights = _district_weights(model)

    def evidence(self, query: int, record: Features, record_keys: tuple | None = None) -> float:
        weights = self.weights(query, record, record_keys)
        typed = self._district_alone[query]
        if typed is None or record["district"] is None:
            return sum(weights)
        return sum(weights) - weights[LOCATION] + self._district_weights[record["district"] == typed]


@dataclass(frozen=True)
class _Scoring:
    """Every candidate child's best pair, before the scope is read: as its records show to any
    searcher, and as a shield shows them (the queries without the hidden fields)."""

    model: MatchModel
    scorer: PairScorer
    groups: tuple[range, ...]  # the queries as seen, then (if they differ) as shown
    best: dict[int, list[tuple[float, int, int]]]  # child: per group, (evidence, query, record)

    def group(self, restricted: bool) -> int:
        return len(self.groups) - 1 if restricted else 0


def _scoring(criteria: SearchCriteria, candidates: dict[int, list[Features]], model: MatchModel) -> _Scoring:
    """A search that uses a hidden field returns no shielded child, and one that does not has
    nothing for a shield to hide, so the queries as shown are scored only if they differ."""
    queries = _queries(criteria, swapped_dates=False)
    shown = [] if _uses_hidden_field(criteria) else [_shown(q) for q in queries]
    if shown == queries:
        shown = []
    scorer = _SearchScorer(model, [*queries, *shown])
    groups = (range(len(queries)), range(len(queries), len(scorer.queries)))[: 2 if shown else 1]
    best = {child: scorer.best(groups, records) for child, records in candidates.items()}
    return _Scoring(model, scorer, groups, best)


def _worth_scoping(criteria: SearchCriteria, scoring: _Scoring) -> list[int]:
    """The candidates that could be returned: one whose best pair is below MINIMUM_EVIDENCE both
    as seen and as shown is refused whatever the scope says, so its chosen values, shield and
    archive state are not read (a ContactPoint ID typed may lift any child: all are read)."""
    if criteria.contactpoint_id:
        return list(scoring.best)
    return [child for child, tops in scoring.best.items() if max(top[0] for top in tops) >= MINIMUM_EVIDENCE]


def _rank(
    criteria: SearchCriteria,
    candidates: dict[int, list[Features]],
    scope: dict[int, FoundChild],
    scoring: _Scoring,
) -> list[SearchHit]:
    """Ordered by evidence, not by the score shown: the score is a probability rounded to 0.1, and
    a child sharing names and birth date with the query shows 100.0 whether or not its postcode
    agrees too (ADR 0018)."""
    ranked = []
    for child, records in candidates.items():
        found = scope.get(child)
        if found is None or (found.restricted and _uses_hidden_field(criteria)):
            continue
        group = scoring.group(found.restricted)
        if named := _named(criteria, found):
            [(evidence, query, record)] = scoring.scorer.best([scoring.groups[group]], records, 30.0)
        else:
            evidence, query, record = scoring.best[child][group]
            if evidence < MINIMUM_EVIDENCE:
                continue  # `_acceptable` refuses it whatever matched: not worth the full score
        best = _score(scoring.model, scoring.scorer.queries[query], records[record], named)
        if not _acceptable(best, criteria, found):
            continue
        ranked.append((best.evidence, _hit(found, best, scoring.model)))
    ranked.sort(key=lambda eh: (-eh[0], eh[1].family_name, eh[1].given_name, eh[1].id))
    return [hit for _, hit in ranked]


def _uses_hidden_field(criteria: SearchCriteria) -> bool:
    return bool(criteria.postcode.strip() or criteria.nhs_number.strip() or criteria.upn.strip())


def _shown(query: Features) -> Features:
    """What a shield lets a search compare: the query without the hidden fields."""
    hidden = {"postcode": None, "district": None, "address": None, "nhs": None, "upn": None}
    return Features(**{**query, **hidden})  # type: ignore[typeddict-item]


def _named(criteria: SearchCriteria, found: FoundChild) -> bool:
    typed = criteria.contactpoint_id
    return bool(typed) and typed.strip().upper() == found.contactpoint_id


def _score(model: MatchModel, query: Features, record: Features, named: bool) -> Scored:
    """The best pair's full score (its levels and weights say what matched); `query` is already
    the shown one for a shielded child."""
    scored = model.score(query, record)
    if query["district"] is not None and query["postcode"] is None:
        scored = _district_scored(model, scored, query["district"], record["district"])
    if named:
        return Scored(scored.evidence + 30.0, scored.levels, scored.weights)
    return scored


LOCATION = next(i for i, c in enumerate(COMPARISONS) if c.name == "location")
SAME_DISTRICT = next(i for i, lv in enumerate(COMPARISONS[LOCATION].levels) if lv.label == "same district")


def _district_scored(model: MatchModel, scored: Scored, typed: str, district_of_record: str | None) -> Scored:
    """A district typed alone, compared as the model compares locations coarsened to districts.

    The model's levels assume both sides have a full postcode: its "same district" level means
    "different postcode, same district" (weak, even negative evidence: mostly neighbours). What a
    district alone shows is whether the districts agree, which is the union of every location level
    that implies it (m and u summed), and "different" when they do not. Without this, a namesake
    in another town ranked level with the child (ADR 0018)."""
    if district_of_record is None:
        return scored
    agree = district_of_record == typed
    weight = _district_weights(model)[agree]
    levels, weights = list(scored.levels), list(scored.weights)
    levels[LOCATION] = SAME_DISTRICT if agree else len(COMPARISONS[LOCATION].levels)
    evidence = scored.evidence - weights[LOCATION] + weight
    weights[LOCATION] = weight
    return Scored(evidence, tuple(levels), tuple(weights))


@lru_cache(maxsize=4)
def _district_weights(model: MatchModel) -> tuple[float, float]:
    """(districts differ, districts agree) in log2 Bayes factors, from the model's own m and u."""
    saved = model.document["splink"]["comparisons"][LOCATION]["comparison_levels"]
    levels = [lv for lv in saved if not lv.get("is_null_level")]
    agree = levels[:-1]  # every level but "different" implies the same district
    m = sum(lv["m_probability"] for lv in agree)
    u = sum(lv["u_probability"] for lv in agree)
    return model.weights[LOCATION][-1], math.log2(m / u)


def _acceptable(scored: Scored, criteria: SearchCriteria, found: FoundChild) -> bool:
    if _named(criteria, found):
        return True
    matched = _matched(scored)
    if criteria.exact:
        wanted = [f for f in ("given_name", "family_name", "date_of_birth", "gender") if getattr(criteria, f)]
        if criteria.date_of_birth_to:
            wanted.remove("date_of_birth")
        if not all(f in matched for f in wanted):
            return False
    return scored.evidence >= MINIMUM_EVIDENCE


def _matched(scored: Scored) -> tuple[str, ...]:
    out = []
    for index, comparison in enumerate(COMPARISONS):
        label = scored.level_label(index)
        if label == "exact" or (label not in ("unknown", "different") and comparison.name == "location"):
            out.append(FIELD_OF[comparison.name])
    return tuple(out)


def _hit(found: FoundChild, scored: Scored, model: MatchModel) -> SearchHit:
    return SearchHit(
        id=found.contactpoint_id,
        score=round(100 * model.probability(scored.evidence), 1),
        given_name=found.given_name,
        family_name=found.family_name,
        date_of_birth=found.date_of_birth,
        gender=found.gender,
        postcode_district=found.postcode_district,
        matched=tuple(f for f in _matched(scored) if not found.restricted or f in SHIELD_VISIBLE),
        shielded=found.restricted,
    )


__all__ = ["CriteriaTooWeak", "SearchCriteria", "SearchHit", "SearchResult", "children_search"]
