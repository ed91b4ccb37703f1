import datetime

import pytest
from django.core.management import CommandError, call_command

from contactpoint.access.models import Profile, Role
from contactpoint.access.roles import ROLES
from contactpoint.access.services import roles_sync
from contactpoint.records.models import Organisation, OrganisationKind

pytestmark = pytest.mark.django_db


def test_roles_sync_is_idempotent_and_matches_the_declaration():
    assert roles_sync() == (len(ROLES), 0)
    assert roles_sync() == (0, 0)
    assert set(Role.objects.values_list("code", flat=True)) == {r.code for r in ROLES}


def test_roles_sync_repairs_an_edited_role():
    roles_sync()
    Role.objects.filter(code="auditor").update(permissions=["view_child_record"])
    assert roles_sync() == (0, 1)
    assert Role.objects.get(code="auditor").permissions == ["read_audit_all"]


def test_auditor_and_system_admin_see_no_child_data():
    declared = {role.code: role.permissions for role in ROLES}
    assert "view_child_record" not in declared["auditor"]
    assert "view_child_record" not in declared["system_admin"]


def test_create_user_command_binds_user_to_organisation_and_area(capsys):
    call_command(
        "create_user",
        "asha",
        "--role",
        "practitioner",
        "--organisation",
        "SCH1",
        "--local-authority",
        "383",
        "--vetted",
    )
    profile = Profile.objects.get(user__username="asha")
    assert profile.role.code == "practitioner"
    assert profile.organisation.code == "SCH1"
    assert profile.local_authority.kind == OrganisationKind.LOCAL_AUTHORITY
    assert profile.organisation.local_authority == profile.local_authority
    assert profile.vetting_problems(datetime.date.today()) == []
    assert "Initial password:" in capsys.readouterr().out


def test_create_user_refuses_a_duplicate_name():
    call_command("create_user", "dup", "--role", "auditor", "--organisation", "383")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_user", "dup", "--role", "auditor", "--organisation", "383")
    assert Organisation.objects.filter(code="383").count() == 1


def test_unvetted_and_lapsed_accounts_say_why():
    call_command("create_user", "new", "--role", "practitioner", "--organisation", "383")
    profile = Profile.objects.get(user__username="new")
    assert len(profile.vetting_problems(datetime.date.today())) == 3
    profile.dbs_checked_on = datetime.date(2020, 1, 1)
    profile.training_completed_on = profile.agreement_signed_on = datetime.date(2020, 1, 1)
    assert profile.vetting_problems(datetime.date(2026, 1, 1)) == [
        "The enhanced DBS check of 01 January 2020 has lapsed."
    ]
