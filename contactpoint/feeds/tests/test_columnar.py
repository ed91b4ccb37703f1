"""Column-wise validation gives exactly what the row-by-row validator gives, on any input."""

import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactpoint.feeds import columns
from contactpoint.feeds.columnar import latest_birth_date
from contactpoint.feeds.formats import open_feed
from contactpoint.feeds.loader import accepted_columns
from contactpoint.feeds.pipeline import prepare, prepare_by_row
from contactpoint.feeds.services import sources_sync
from contactpoint.feeds.validation import age_on
from contactpoint.records.models import Source

TODAY = datetime.date(2026, 10, 1)
EVERY_COLUMN = frozenset(
    columns.CANONICAL
    + columns.CONTROL
    + columns.RETENTION
    + columns.FORMER_NAMES
    + columns.CARERS
    + columns.SCHOOL
    + columns.GP
    + columns.INVOLVEMENT
)
HEADER = (*sorted(EVERY_COLUMN), "case_notes")

# Cells that exercise every path: clean ASCII, spaces to collapse, names with digits or other
# scripts, control and invisible characters, bytes that were not UTF-8 (as surrogateescape reads
# them), NULs, over-long text, and the formats of dates, codes, postcodes, NHS numbers and UPNs.
samples = st.sampled_from(
    [
        "",
        "Amelia",
        "  Amelia  Rose ",
        "O'Neil-Smith",
        "Zoë",
        "Ølsen",
        "J0hn",
        "Am\x00elia",
        "Le\u200beds",
        "Caf\udce9",
        "tab\there",
        "x" * 129,
        "A" * 250,
        "2015-03-14",
        "20150314",
        "14/03/2015",
        "2015-02-30",
        "2001-10-01",
        "2001-10-02",
        "2008-10-01",
        "2008-10-02",
        "2030-01-01",
        "male",
        "F",
        "9",
        "ls6 2ab",
        "LS62AB",
        "BAD",
        "9434765919",
        "9434765918",
        "A801200001001",
        "true",
        "no",
        "maybe",
        "withdrawn",
        "care_leaver",
        "mother",
        "mental_health",
        "consent",
        "GP123",
        "R1",
    ]
)
cells = st.one_of(samples, st.text(max_size=12))
rows = st.lists(
    st.tuples(st.lists(cells, min_size=0, max_size=len(HEADER) + 2), st.booleans()), min_size=1, max_size=40
)


def batch(raw_rows):
    width = len(HEADER)
    return [(number, cells, len(cells) > width) for number, (cells, _) in enumerate(raw_rows, start=1)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows)
def test_any_rows_validate_the_same_column_wise_and_row_by_row(raw_rows):
    spec = (EVERY_COLUMN, TODAY, HEADER)
    data = batch(raw_rows)
    duplicates = frozenset(number for number, (_, repeated) in enumerate(raw_rows, start=1) if repeated)
    assert prepare(spec, data, duplicates) == prepare_by_row(spec, data, duplicates)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(sorted(EVERY_COLUMN)), cells), min_size=1, max_size=20))
def test_keyed_rows_validate_the_same_column_wise_and_row_by_row(dicts):
    spec = (EVERY_COLUMN, TODAY, None)
    data = [(number, cells, False) for number, cells in enumerate(dicts, start=1)]
    assert prepare(spec, data) == prepare_by_row(spec, data)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "feed", ["gp_registration", "school_census", "la_childrens_services", "youth_justice"]
)
def test_synthetic_feeds_validate_the_same_column_wise_and_row_by_row(tmp_path, feed):
    from contactpoint.synthetic.feeds import write_population

    sources_sync()
    write_population(children=3000, seed=11, out=tmp_path, as_of=TODAY)
    reader = open_feed(tmp_path / f"{feed}.csv", "csv")
    data = list(reader.rows())
    reader.close()
    spec = (accepted_columns(Source.objects.get(code=feed)), TODAY, reader.header)
    repeats = frozenset(number for number, _, _ in data[::50])
    for start in range(0, len(data), 700):  # several batches, so remembered values are reused
        chunk = data[start : start + 700]
        assert prepare(spec, chunk, repeats) == prepare_by_row(spec, chunk, repeats)


@pytest.mark.parametrize(
    "today", [datetime.date(2028, 2, 29), datetime.date(2027, 3, 1), datetime.date(2026, 12, 31)]
)
@pytest.mark.parametrize("age", [18, 25])
def test_the_latest_birth_date_for_an_age_follows_age_on(today, age):
    latest = latest_birth_date(today, age)
    assert age_on(latest, today) >= age
    assert age_on(latest + datetime.timedelta(days=1), today) < age
