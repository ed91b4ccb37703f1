"""The memoised pair scorer gives what `MatchModel.score` gives, to the bit, whatever the records."""

import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactpoint.linkage.features import FEATURE_COLUMNS, Features, features
from contactpoint.linkage.model import COMPARISONS
from contactpoint.linkage.pairs import READS, PairScorer
from contactpoint.linkage.scoring import current_model

# Small pools, so that pairs agree, nearly agree (typos, nicknames, swapped dates, a carer's name)
# and repeat values across records as candidates found by one blocking key do.
GIVEN = ["William", "Bill", "Wiliam", "Sophie", "Sofie", "Amara", "Hartley", ""]
FAMILY = ["Hartley", "Hartly", "Hatrley", "Okafor", "O'Kafor", "William", "Smith", ""]
BORN = ["2015-03-14", "2015-14-03", "2015-03-12", "2015-12-03", "2015-03-15", "2015-03-20", ""]
POSTCODE = ["LS6 2AB", "LS6 2AD", "LS6", "M1 4BT", ""]
ADDRESS = ["12 High St", "12 HIGH ST.", "9 Canal St", ""]


def _date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text) if text else None
    except ValueError:
        return None


details = st.builds(
    lambda given, family, former, born, gender, postcode, address, nhs, upn, carers: features(
        given_name=given,
        family_name=family,
        former_family_name=former,
        date_of_birth=_date(born),
        gender=gender,
        postcode=postcode,
        address_line_1=address,
        nhs_number=nhs,
        upn=upn,
        carer_family_names=carers,
    ),
    st.sampled_from(GIVEN),
    st.sampled_from(FAMILY),
    st.sampled_from(FAMILY),
    st.sampled_from(BORN),
    st.sampled_from(["female", "male", ""]),
    st.sampled_from(POSTCODE),
    st.sampled_from(ADDRESS),
    st.sampled_from(["9434765919", "4010232137", ""]),
    st.sampled_from(["A123456789012", ""]),
    st.lists(st.sampled_from(FAMILY), max_size=2),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(details, min_size=1, max_size=3), st.lists(details, min_size=1, max_size=12))
def test_evidence_is_the_full_scores_evidence_for_every_pair(queries, records):
    model = current_model()
    scorer = PairScorer(model, queries)
    for _ in range(2):  # the second pass answers from the memo
        for q, query in enumerate(queries):
            for record in records:
                assert scorer.evidence(q, record) == model.score(query, record).evidence


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(details, min_size=1, max_size=3), st.lists(details, min_size=1, max_size=12))
def test_scored_is_the_full_score_levels_included_for_every_pair(queries, records):
    model = current_model()
    scorer = PairScorer(model, queries)
    for _ in range(2):  # the second pass answers from the memo
        for q, query in enumerate(queries):
            for record in records:
                assert scorer.scored(q, record) == model.score(query, record)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(details, min_size=1, max_size=3),
    st.lists(details, min_size=1, max_size=8),
    st.sampled_from([0.0, 30.0]),
)
def test_the_best_pair_is_the_one_max_over_full_scores_picks(queries, records, bonus):
    model = current_model()
    pairs = [(q, r) for q in range(len(queries)) for r in range(len(records))]
    full = [model.score(queries[q], records[r]).evidence + bonus for q, r in pairs]
    first_best = max(range(len(pairs)), key=full.__getitem__)  # max keeps the first of equals
    everything, last = PairScorer(model, queries).best(
        [range(len(queries)), [len(queries) - 1]], records, bonus
    )
    assert everything == (full[first_best], *pairs[first_best])
    last_best = max(range(len(records)), key=lambda r: full[pairs.index((len(queries) - 1, r))])
    assert last == (full[pairs.index((len(queries) - 1, last_best))], len(queries) - 1, last_best)


class _Reads(dict):
    """Features that note which of them a level test reads."""

    def __init__(self, values: Features, seen: set[str]) -> None:
        super().__init__(values)
        self.seen = seen

    def __getitem__(self, key: str):
        self.seen.add(key)
        return super().__getitem__(key)


@settings(max_examples=300)
@given(details, details)
def test_each_comparison_reads_only_the_features_it_is_keyed_by(left, right):
    for comparison in COMPARISONS:
        seen: set[str] = set()
        comparison.level_of(_Reads(left, seen), _Reads(right, seen))  # type: ignore[arg-type]
        for level in comparison.levels:  # every level's test, not only up to the first that holds
            level.test(_Reads(left, seen), _Reads(right, seen))  # type: ignore[arg-type]
        assert seen <= set(READS.get(comparison.name, FEATURE_COLUMNS)), comparison.name


def test_every_comparison_is_keyed_by_what_it_reads():
    assert set(READS) == {c.name for c in COMPARISONS}
