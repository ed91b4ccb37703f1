"""Envelope encryption: per-child data keys wrapped by a KEK from the environment, rotation, shredding."""

import io

import pytest
from cryptography.exceptions import InvalidTag
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings

from contactpoint.records.tests.factories import ChildFactory
from contactpoint.retention import crypto
from contactpoint.retention.models import ChildDataKey
from contactpoint.retention.services import children_destroy

pytestmark = pytest.mark.django_db
OLD = "11" * 32
NEW = "22" * 32


def test_values_sealed_with_a_childs_key_open_only_with_it_and_in_their_place():
    a, b = ChildFactory(), ChildFactory()
    key_a = crypto.data_key(child_id=crypto.data_key_ensure(child_id=a.pk).child_id)
    assert crypto.data_key_ensure(child_id=a.pk).key_id == ChildDataKey.objects.get(child=a).key_id  # once
    sealed = crypto.value_seal(key_a, "Quennell", context=f"ChildName.family_name:{a.pk}")
    assert b"Quennell" not in sealed
    assert crypto.value_open(key_a, sealed, context=f"ChildName.family_name:{a.pk}") == "Quennell"
    with pytest.raises(InvalidTag):  # moved to another field
        crypto.value_open(key_a, sealed, context=f"ChildName.given_name:{a.pk}")
    crypto.data_key_ensure(child_id=b.pk)
    with pytest.raises(InvalidTag):  # another child's key
        crypto.value_open(crypto.data_key(child_id=b.pk), sealed, context=f"ChildName.family_name:{a.pk}")


def test_a_wrapped_key_moved_to_another_child_does_not_open():
    a, b = ChildFactory(), ChildFactory()
    row_a, row_b = crypto.data_key_ensure(child_id=a.pk), crypto.data_key_ensure(child_id=b.pk)
    ChildDataKey.objects.filter(pk=row_b.pk).update(wrapped=row_a.wrapped)
    with pytest.raises(InvalidTag):
        crypto.data_key(child_id=b.pk)


def test_destroying_the_child_destroys_its_key_so_copies_of_its_values_are_unreadable():
    child = ChildFactory()
    crypto.data_key_ensure(child_id=child.pk)
    backup = crypto.value_seal(
        crypto.data_key(child_id=child.pk), "2010-05-01", context="dob"
    )  # a copy kept elsewhere
    children_destroy(child_pks={child.pk})
    assert not ChildDataKey.objects.exists()
    with pytest.raises(crypto.KeyDestroyed):
        crypto.data_key(child_id=child.pk)
    assert b"2010-05-01" not in backup


def test_rotation_rewraps_every_key_and_the_old_kek_can_then_be_retired():
    children = [ChildFactory() for _ in range(3)]
    with override_settings(CONTACTPOINT_DATA_KEK=OLD):
        sealed = {}
        for child in children:
            crypto.data_key_ensure(child_id=child.pk)
            sealed[child.pk] = crypto.value_seal(crypto.data_key(child_id=child.pk), "Ivy", context="n")
    with override_settings(CONTACTPOINT_DATA_KEK=f"{OLD},{NEW}"):
        out = io.StringIO()
        call_command("rotate_data_keys", stdout=out)
        assert "Rewrapped 3 data key(s)" in out.getvalue() and "may be retired" in out.getvalue()
        call_command("rotate_data_keys", stdout=io.StringIO())  # idempotent
        assert set(ChildDataKey.objects.values_list("rewrapped_at", flat=True)) != {None}
    with override_settings(CONTACTPOINT_DATA_KEK=NEW):  # the old KEK is gone
        for child in children:
            assert (
                crypto.value_open(crypto.data_key(child_id=child.pk), sealed[child.pk], context="n") == "Ivy"
            )


def test_without_the_kek_that_wrapped_them_keys_do_not_open_and_say_why():
    child = ChildFactory()
    with override_settings(CONTACTPOINT_DATA_KEK=OLD):
        crypto.data_key_ensure(child_id=child.pk)
    with override_settings(CONTACTPOINT_DATA_KEK=NEW), pytest.raises(crypto.UnknownKek):
        crypto.data_key(child_id=child.pk)
    with (
        override_settings(CONTACTPOINT_DATA_KEK="", CONTACTPOINT_DATA_KEK_FILE=""),
        pytest.raises(ImproperlyConfigured, match="CONTACTPOINT_DATA_KEK"),
    ):
        crypto.kek_ring()


def test_a_key_file_is_read_and_a_missing_one_refused(tmp_path):
    key_file = tmp_path / "kek"
    with override_settings(CONTACTPOINT_DATA_KEK="", CONTACTPOINT_DATA_KEK_FILE=str(key_file)):
        with pytest.raises(ImproperlyConfigured, match="does not exist"):
            crypto.kek_ring()
        key_file.write_text(f"# retired later\n{OLD}\n{NEW}\n")
        crypto.kek_ring.cache_clear()
        assert crypto.kek_ring().wrapping_id == crypto.key_id_of(bytes.fromhex(NEW))
