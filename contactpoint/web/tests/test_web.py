import re
from unittest import mock

import pytest
from django.db import DatabaseError
from django.urls import reverse

from contactpoint.access.tests.factories import sign_in_verified
from contactpoint.records.models import Child
from contactpoint.records.tests.factories import ChildFactory


@pytest.mark.django_db
def test_healthz_reports_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_down(client):
    with mock.patch("contactpoint.web.views.connection.cursor", side_effect=DatabaseError("down")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


@pytest.mark.django_db
def test_home_needs_sign_in(client):
    response = client.get(reverse("web:home"))
    assert response.status_code == 302
    assert reverse("web:login") in response["Location"]


@pytest.mark.django_db
def test_home_shows_counts_but_no_child_data(client, django_user_model):
    child = ChildFactory()
    user = django_user_model.objects.create_user("someone", password="a-long-password-1")
    sign_in_verified(client, user)
    response = client.get(reverse("web:home"))
    assert response.status_code == 200
    assert child.contactpoint_id not in response.content.decode()
    assert Child.objects.count() == 1
    assert re.search(r"Children\s*</dt>\s*<dd[^>]*>\s*1\s*</dd>", response.content.decode())


@pytest.mark.django_db
def test_pages_in_django_templates_get_the_govuk_layout(rf, django_user_model):
    from django.template import engines

    page = engines["django"].from_string(
        '{% extends "web/base.html" %}{% block title %}Audit reports{% endblock %}'
        "{% block content %}<h1>Reports for {{ area }}</h1>{% endblock %}"
    )
    request = rf.get("/")
    request.user = django_user_model(username="someone")
    html = page.render({"area": "<Leeds>"}, request)
    assert "<title>Audit reports \u2013 ContactPoint \u2013 GOV.UK</title>" in html
    assert "<h1>Reports for &lt;Leeds&gt;</h1>" in html
    assert 'class="govuk-header' in html and 'class="govuk-footer' in html


@pytest.mark.django_db
def test_navigation_shows_each_entry_only_to_roles_granted_its_permission(client):
    from contactpoint.access.tests.factories import make_user

    sign_in_verified(client, make_user("nav-practitioner").user)
    assert 'href="/children/search/"' in client.get(reverse("web:home")).content.decode()
    client.logout()
    sign_in_verified(client, make_user("nav-auditor", "auditor").user)
    html = client.get(reverse("web:home")).content.decode()
    assert 'href="/children/search/"' not in html and "My recent activity" in html
