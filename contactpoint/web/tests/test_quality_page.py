"""The data-quality dashboard: a team's own area; any area, or the whole index, for data managers."""

import pytest
from django.urls import reverse

from contactpoint.access.tests.factories import make_user, sign_in_verified
from contactpoint.web.tests.world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tmp_path):
    return build_world(tmp_path)


def test_a_team_sees_its_own_area_with_stale_records_by_source(client, world):
    sign_in_verified(client, world.team)
    page = client.get(reverse("web:quality"), {"area": "352"}).content.decode()  # cannot choose another
    assert "Data quality: Leeds City Council" in page and "Manchester" not in page
    assert "Stale records by source" in page and "365 days without a new account" in page
    assert 'name="area"' not in page


def test_a_data_manager_chooses_an_area_or_the_whole_index(client, world):
    sign_in_verified(client, make_user("dm-383", "data_manager", organisation="383").user)
    whole = client.get(reverse("web:quality")).content.decode()
    assert "across the whole index" in whole and 'name="area"' in whole
    leeds = client.get(reverse("web:quality"), {"area": "383"}).content.decode()
    assert "Data quality: Leeds City Council" in leeds and "gp_registration" in leeds
    manchester = client.get(reverse("web:quality"), {"area": "352"}).content.decode()
    assert "Data quality: Manchester City Council" in manchester
    assert "No source records concern Manchester City Council yet" in manchester
    unknown = client.get(reverse("web:quality"), {"area": "nowhere"}).content.decode()
    assert "across the whole index" in unknown
