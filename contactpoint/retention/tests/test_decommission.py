"""Decommissioning: access ends at the set time, everything is destroyed, the certificate verifies."""

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from contactpoint.access.actors import Actor
from contactpoint.access.models import ApiToken, Profile
from contactpoint.access.services import api_token_issue
from contactpoint.access.tests.factories import make_user
from contactpoint.audit.criteria import criteria_open
from contactpoint.audit.models import AuditEvent, EventType
from contactpoint.audit.verify import verify_log
from contactpoint.linkage.models import IndexKey
from contactpoint.records.models import Child
from contactpoint.retention.crypto import data_key_ensure
from contactpoint.retention.decommission import proof_nothing_readable
from contactpoint.retention.models import ChildDataKey
from contactpoint.search.selectors import SearchCriteria, children_search

from .helpers import BORN, child, index

pytestmark = pytest.mark.django_db
CONFIRM = ["--confirm", "destroy every child's data"]


def test_the_runbook_ends_access_destroys_everything_and_certifies_it(tmp_path):
    index(tmp_path)
    profile = make_user("last-practitioner")
    api_token_issue(user=profile.user, name="case system")
    # A practitioner's search: the append-only log keeps its criteria, sealed under the year's key.
    criteria = SearchCriteria(given_name="Ivy", family_name="Quennell", date_of_birth=BORN)
    children_search(actor=Actor.for_user(profile.user), criteria=criteria)
    search = AuditEvent.objects.get(event_type=EventType.SEARCH)
    assert criteria_open(search.details, uid=search.uid)["family_name"] == "Quennell"
    keys = sorted(data_key_ensure(child_id=c.pk).key_id for c in Child.objects.all())
    before = proof_nothing_readable(["Quennell", "Brackwater"])
    # Every stored value is sealed, so even before, the scan finds them nowhere in the clear; what
    # is not clean yet is the rows (and keys) still held.
    assert not before.found and not before.clean
    # The scan itself sees what is in the clear: the user's own name is on their account row.
    assert "auth_user: last-practitioner" in proof_nothing_readable(["last-practitioner"]).found

    out = io.StringIO()
    ended = (timezone.now() - datetime.timedelta(minutes=1)).isoformat()
    call_command(
        "decommission", "--at", ended, *CONFIRM, "--certificate-dir", str(tmp_path / "c"), stdout=out
    )
    assert "Verified" in out.getvalue()
    [path] = (tmp_path / "c").iterdir()
    certificate = json.loads(path.read_text())
    assert certificate["data_keys_destroyed"] == {"count": 3, "key_ids": keys}
    assert certificate["rows_destroyed"]["records.Child"] == 3
    assert certificate["proof"]["clean"] and certificate["proof"]["identifying_values_found"] == 0
    assert certificate["audit_chain_head"]["position"] > 0
    assert certificate["proof"]["search_terms_in_audit_log"] == 0
    assert certificate["search_criteria_keys_destroyed"] == 1
    assert criteria_open(search.details, uid=search.uid) is None  # what was typed is gone for good
    assert not Child.objects.exists() and not ChildDataKey.objects.exists()
    assert not IndexKey.objects.exists()  # the candidate index's blinding key went with the rest
    assert proof_nothing_readable(["Quennell", "Brackwater", "Tindall"]).clean
    # Nobody can act any more.
    assert Profile.objects.filter(suspended_at__isnull=True).count() == 0
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 0
    with pytest.raises(Exception, match="suspended"):
        Actor.for_user(profile.user)
    # The certificate verifies, the audit chain it names verifies, and a tampered copy does not.
    call_command("decommission", "--verify", str(path), stdout=io.StringIO())
    assert verify_log().intact
    certificate["rows_destroyed"]["records.Child"] = 2
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(certificate))
    with pytest.raises(CommandError, match="signature does not match"):
        call_command("decommission", "--verify", str(forged))


def test_nothing_happens_before_the_set_time_or_without_confirmation(tmp_path):
    index(tmp_path)
    later = (timezone.now() + datetime.timedelta(hours=1)).isoformat()
    with pytest.raises(CommandError, match="Access ends at"):
        call_command("decommission", "--at", later, *CONFIRM, "--certificate-dir", str(tmp_path))
    with pytest.raises(CommandError, match="--confirm"):
        call_command("decommission", "--at", timezone.now().isoformat())
    with pytest.raises(CommandError, match="time zone"):
        call_command("decommission", "--at", "2026-01-01T10:00", *CONFIRM)
    with pytest.raises(CommandError, match="not an ISO 8601"):
        call_command("decommission", "--at", "tomorrow", *CONFIRM)
    assert Child.objects.count() == 3 and child("G1")
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("decommission", "--verify", str(tmp_path / "missing.json"))
