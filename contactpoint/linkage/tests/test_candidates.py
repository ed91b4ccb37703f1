"""The trigram candidate branch: the Python measure is pg_trgm's, and PostgreSQL has its index."""

import pytest
from django.db import connection

from contactpoint.linkage.candidates import TRIGRAM_THRESHOLD, trigram_similarity

PAIRS = [
    ("Hartley", "HATRLEY"),
    ("Smith", "smyth"),
    ("O'Brien", "OBRIEN"),
    ("Zoë-Ann", "zoe ann"),
    ("Okafor", "Okafr"),
    ("Li", "Lee"),
    ("", "Nowak"),
]


def test_similarity_counts_shared_trigrams_over_all_of_them():
    assert trigram_similarity("Smith", "SMITH") == 1.0
    # smith and smyth share "  s", " sm", "th " of 9 distinct trigrams.
    assert trigram_similarity("Smith", "Smyth") == pytest.approx(3 / 9)
    assert trigram_similarity("Hartley", "Hatrley") >= TRIGRAM_THRESHOLD
    assert trigram_similarity("Hartley", "Okafor") < TRIGRAM_THRESHOLD
    assert trigram_similarity("", "") == 0.0


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares with pg_trgm itself")
def test_similarity_agrees_with_pg_trgm():
    with connection.cursor() as cursor:
        for a, b in PAIRS:
            cursor.execute("SELECT similarity(%s, %s)", [a, b])
            assert trigram_similarity(a, b) == pytest.approx(cursor.fetchone()[0], abs=1e-6), (a, b)


@pytest.mark.django_db
def test_the_migration_indexes_linked_records_by_birth_date():
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, "feeds_sourcerecord")
    name = "sourcerecord_dob_family_trgm" if connection.vendor == "postgresql" else "sourcerecord_dob_linked"
    assert name in indexes
