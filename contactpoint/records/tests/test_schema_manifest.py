"""The build fails if any model holding child data grows a field outside the statutory list."""

from contactpoint.records import sealed
from contactpoint.records.statutory import BOOKKEEPING_FIELDS, STATUTORY_FIELDS, models_holding_child_data


def test_every_model_holding_child_data_is_in_the_manifest():
    unknown = [m.__name__ for m in models_holding_child_data() if m.__name__ not in STATUTORY_FIELDS]
    assert unknown == [], (
        f"Declare these in records/statutory.py or do not store child data in them: {unknown}"
    )


def test_no_model_holds_a_field_outside_the_statutory_list():
    offending = {}
    for model in models_holding_child_data():
        # A sealed model's blob and its clear parts stand for the fields sealed in it.
        names = {field.name for field in model._meta.concrete_fields} - sealed.stand_ins(model)
        names |= set(sealed.sealed_fields(model))
        extra = names - STATUTORY_FIELDS[model.__name__] - BOOKKEEPING_FIELDS
        if extra:
            offending[model.__name__] = sorted(extra)
    assert offending == {}


def test_the_check_sees_child_data_models():
    found = {m.__name__ for m in models_holding_child_data()}
    assert {"Child", "ChildName", "ChildAddress", "ChildIdentifier", "Involvement", "Carer"} <= found
