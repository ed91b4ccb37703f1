"""The ranking as first written: every pair scored in full by `MatchModel.score` (with the
search's district rule), no memo, no pruning. Tests and bench/search_scoring.py hold the search's
own ranking equal to it."""

from contactpoint.access.door import FoundChild
from contactpoint.linkage.features import Features
from contactpoint.linkage.scoring import MatchModel, Scored
from contactpoint.search.selectors import (
    SearchCriteria,
    SearchHit,
    _acceptable,
    _district_scored,
    _hit,
    _queries,
    _uses_hidden_field,
)


def rank_exhaustive(
    criteria: SearchCriteria,
    candidates: dict[int, list[Features]],
    scope: dict[int, FoundChild],
    model: MatchModel,
) -> list[SearchHit]:
    queries = _queries(criteria, swapped_dates=False)
    ranked = []
    for child, records in candidates.items():
        found = scope.get(child)
        if found is None or (found.restricted and _uses_hidden_field(criteria)):
            continue
        best = max(
            (_score(model, q, r, found, criteria) for q in queries for r in records), key=lambda s: s.evidence
        )
        if not _acceptable(best, criteria, found):
            continue
        ranked.append((best.evidence, _hit(found, best, model)))
    ranked.sort(key=lambda eh: (-eh[0], eh[1].family_name, eh[1].given_name, eh[1].id))
    return [hit for _, hit in ranked]


def _score(
    model: MatchModel, query: Features, record: Features, found: FoundChild, criteria: SearchCriteria
) -> Scored:
    if found.restricted:
        query = Features(
            **{**query, "postcode": None, "district": None, "address": None, "nhs": None, "upn": None}
        )  # type: ignore[typeddict-item]
    scored = model.score(query, record)
    if query["district"] is not None and query["postcode"] is None:
        scored = _district_scored(model, scored, query["district"], record["district"])
    if criteria.contactpoint_id and criteria.contactpoint_id.strip().upper() == found.contactpoint_id:
        return Scored(scored.evidence + 30.0, scored.levels, scored.weights)
    return scored
