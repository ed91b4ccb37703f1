"""The policy covers every model and relation holding child data, and its dates are the law's."""

import datetime

import pytest
from django.apps import apps
from django.db import models
from django.test.utils import isolate_apps

from contactpoint.records.models import Child
from contactpoint.records.statutory import models_holding_child_data
from contactpoint.retention import policy
from contactpoint.retention.services import archive_due, destroy_due


def test_every_model_and_relation_holding_child_data_has_a_rule():
    missing = policy.uncovered(models_holding_child_data())
    assert missing == [], f"Add retention rules to retention/policy.py for: {missing}"


def test_every_rule_names_a_real_model_and_relation():
    for rule in policy.RULES:
        model = apps.get_model(rule.model)
        if rule.relation != "pk":
            assert model._meta.get_field(rule.relation).is_relation, rule


@isolate_apps("contactpoint.retention")
def test_a_new_model_holding_child_data_without_a_rule_fails_the_check():
    class CaseNote(models.Model):
        child = models.ForeignKey(Child, on_delete=models.CASCADE)

        class Meta:
            app_label = "retention"

    missing = policy.uncovered([*models_holding_child_data(), CaseNote])
    assert ("retention.CaseNote", "child") in missing


@pytest.mark.parametrize(
    ("born", "consent", "died", "expected"),
    [
        (datetime.date(2010, 5, 1), "", None, (datetime.date(2028, 5, 1), "age_18")),
        (datetime.date(2010, 5, 1), "care_leaver", None, (datetime.date(2035, 5, 1), "age_25")),
        (datetime.date(2010, 5, 1), "special_educational_needs", None, (datetime.date(2035, 5, 1), "age_25")),
        (datetime.date(2012, 2, 29), "", None, (datetime.date(2030, 3, 1), "age_18")),
        (
            datetime.date(2015, 1, 1),
            "",
            datetime.date(2026, 1, 10),
            (datetime.date(2027, 1, 10), "after_death"),
        ),
        (None, "", None, None),
        (datetime.date(2010, 5, 1), "not_a_consent", None, (datetime.date(2028, 5, 1), "age_18")),
    ],
)
def test_archive_dates(born, consent, died, expected):
    assert archive_due(born=born, consent=consent, died_on=died) == expected


def test_destroyed_six_years_after_archiving():
    assert destroy_due(datetime.date(2028, 5, 1)) == datetime.date(2034, 5, 1)
