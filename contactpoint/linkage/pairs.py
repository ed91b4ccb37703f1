"""Scoring a few query records against many candidate records, each comparison's work done once.

A search at a million children scores a few hundred pairs (its two or three query variants
against a hundred or more candidate records), and `MatchModel.score` runs every comparison's
level tests (Jaro-Winkler, edit distances, date parsing) for each pair. Most of that work repeats:
a comparison reads only a few features, and candidates found by the same blocking keys share
them (the same family name, the same birth date, the same gender); the query variants differ in
one comparison each. So each comparison's level and weight is computed once per distinct pair of
the values it reads, and a pair's evidence is the sum of those, in the order `score` sums them:
the same float, so the same ranking, to the last bit.
"""

import operator
from collections.abc import Callable, Sequence
from typing import Any

from .features import FEATURE_COLUMNS, Features
from .model import COMPARISONS
from .scoring import MatchModel, Scored

# The features each comparison's levels (and its null test) read, on either side. A comparison not
# listed is keyed by every feature: always right, only slower. A test traces the level tests over
# generated pairs and fails if one reads a feature not listed here.
READS: dict[str, tuple[str, ...]] = {
    "given_name": ("given", "given_aliases", "given_sound", "family"),
    "family_name": ("family", "families", "carer_families", "family_sound"),
    "date_of_birth": ("dob", "dob_swapped"),
    "gender": ("gender",),
    "location": ("postcode", "address", "district"),
    "nhs_number": ("nhs",),
    "upn": ("upn",),
}
_LISTS = frozenset(("given_aliases", "families", "carer_families"))  # keyed as tuples


def _key_function(columns: tuple[str, ...]) -> Callable[[Features], Any]:
    """A hashable key of the values `columns` hold in one record."""
    if len(columns) == 1 and columns[0] not in _LISTS:
        return operator.itemgetter(columns[0])
    get = operator.itemgetter(*columns)
    if _LISTS.isdisjoint(columns):
        return get  # type: ignore[no-any-return]
    return lambda f: tuple(tuple(v) if type(v) is list else v for v in get(f))


_KEYS = tuple(_key_function(READS.get(c.name, FEATURE_COLUMNS)) for c in COMPARISONS)


def comparison_keys(f: Features) -> tuple[Any, ...]:
    return tuple(key(f) for key in _KEYS)


class PairScorer:
    """Evidence of `queries` against any records, each comparison memoised for this scorer's life
    (one search: the weights are the model's, so a scorer is as fresh as the model it was given)."""

    def __init__(self, model: MatchModel, queries: Sequence[Features]) -> None:
        self.model = model
        self.queries = list(queries)
        self._query_keys = [comparison_keys(q) for q in self.queries]
        self._memo: list[dict[tuple[Any, Any], float]] = [{} for _ in COMPARISONS]
        self._levels: list[dict[tuple[Any, Any], tuple[int, float]]] = [{} for _ in COMPARISONS]

    def evidence(self, query: int, record: Features, record_keys: tuple[Any, ...] | None = None) -> float:
        """`model.score(queries[query], record).evidence`, computed once per distinct values (a
        caller that adjusts the model's evidence overrides this, from `weights`)."""
        return sum(self.weights(query, record, record_keys))

    def weights(
        self, query: int, record: Features, record_keys: tuple[Any, ...] | None = None
    ) -> list[float]:
        """`model.score(queries[query], record).weights`, as a list."""
        keys = record_keys if record_keys is not None else comparison_keys(record)
        query_keys = self._query_keys[query]
        weights = []
        for index, memo in enumerate(self._memo):
            pair = (query_keys[index], keys[index])
            weight = memo.get(pair)
            if weight is None:
                left = self.queries[query]
                weight = memo[pair] = self.model.level_weight(index, COMPARISONS[index], left, record)[1]
            weights.append(weight)
        return weights

    def scored(self, query: int, record: Features) -> Scored:
        """`model.score(queries[query], record)`, levels included (the guard reads them): what
        incremental linking needs of every candidate record, not only of the best. Each key is
        taken as it is used (no tuple of a record's keys: most records are scored once)."""
        left = self.queries[query]
        levels, weights = [], []
        for index, (query_key, key, memo) in enumerate(
            zip(self._query_keys[query], _KEYS, self._levels, strict=True)
        ):
            pair = (query_key, key(record))
            found = memo.get(pair)
            if found is None:
                found = memo[pair] = self.model.level_weight(index, COMPARISONS[index], left, record)
            levels.append(found[0])
            weights.append(found[1])
        return Scored(sum(weights), tuple(levels), tuple(weights))

    def best(
        self, groups: Sequence[Sequence[int]], records: Sequence[Features], bonus: float = 0.0
    ) -> list[tuple[float, int, int]]:
        """For each group of queries, (evidence + bonus, query, record) of its first best pair in
        the order queries then records, as `max` over `score` in that order would pick it."""
        keyed = [comparison_keys(r) for r in records]
        tops = []
        for queries in groups:
            top, top_query, top_record = float("-inf"), -1, -1
            for query in queries:
                for number, record in enumerate(records):
                    evidence = self.evidence(query, record, keyed[number])
                    if bonus:
                        evidence += bonus
                    if evidence > top:
                        top, top_query, top_record = evidence, query, number
            tops.append((top, top_query, top_record))
        return tops
