import pytest

from contactpoint.records.tests.factories import SourceFactory


@pytest.fixture
def source(db):
    return SourceFactory()
