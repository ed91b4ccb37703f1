"""The demo prepares everything the pages need: users per role, the population, shielded children."""

import io
import re

import pytest
from django.core.management import call_command
from django.test import override_settings

from contactpoint.access.models import Shield
from contactpoint.records.models import Child

pytestmark = pytest.mark.django_db


def test_the_demo_prepares_users_children_and_shields_and_can_run_again(tmp_path):
    out = io.StringIO()
    with override_settings(DATA_DIR=tmp_path):
        call_command("demo", children=150, seed=5, no_server=True, stdout=out)
        printed = out.getvalue()
        shielded = re.search(r"Shielded children: (\S+), (\S+) ", printed)
        assert shielded is not None, printed
        assert Shield.objects.filter(ended_at__isnull=True).count() == 2
        assert set(shielded.groups()) == set(Shield.objects.values_list("child__contactpoint_id", flat=True))
        assert "demo-other-la-team" in printed and "demo-practitioner" in printed
        queue = re.search(r"/linkage/review/ \((\d+) pairs for demo-la-management's area, (\d+) for", printed)
        assert queue is not None, printed
        assert 0 < int(queue.group(1)) <= int(queue.group(2))  # the demo's reviewer has pairs to review
        example = re.search(r"/children/(\w+)/", printed)
        assert example and Child.objects.filter(contactpoint_id=example.group(1)).exists()

        again = io.StringIO()
        call_command("demo", children=150, seed=5, no_server=True, stdout=again)
    assert "keeping them" in again.getvalue()
    assert Shield.objects.filter(ended_at__isnull=True).count() == 2


def test_every_synthetic_child_renders_and_the_population_is_searchable(tmp_path, client):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from contactpoint.access.actors import Actor
    from contactpoint.access.door import child_record_for
    from contactpoint.access.tests.factories import sign_in_verified

    with override_settings(DATA_DIR=tmp_path):
        call_command("demo", children=40, seed=7, no_server=True, stdout=io.StringIO())
    for username in ("demo-national-partner", "demo-practitioner"):
        sign_in_verified(client, get_user_model().objects.get(username=username))
        for contactpoint_id in Child.objects.values_list("contactpoint_id", flat=True):
            page = client.post(reverse("web:child", args=[contactpoint_id]), {"reason": "safeguarding"})
            assert page.status_code == 200, contactpoint_id
            assert contactpoint_id in page.content.decode()

    actor = Actor.for_user(get_user_model().objects.get(username="demo-practitioner"))
    child = Child.objects.exclude(pk__in=Shield.objects.values("child_id")).order_by("pk").first()
    record = child_record_for(actor, child, reason="test set-up")
    assert record.name and record.date_of_birth
    born = record.date_of_birth
    html = client.post(
        reverse("web:search"),
        {
            "family_name": record.name.family_name,
            "dob_day": born.day,
            "dob_month": born.month,
            "dob_year": born.year,
        },
    ).content.decode()
    assert reverse("web:child", args=[child.contactpoint_id]) in html
