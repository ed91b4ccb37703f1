"""`contactpoint linkage_report`: the linkage quality report for data managers."""

import json

from django.core.management.base import BaseCommand
from django.core.serializers.json import DjangoJSONEncoder

from contactpoint.linkage.selectors import false_merge_estimate, quality_report


class Command(BaseCommand):
    help = "Per source: match rate, NHS share, children, stale records; review queue; merge risk (JSON)."

    def handle(self, *args, **options):
        report = quality_report() | {"false_merge_risk": false_merge_estimate()}
        self.stdout.write(json.dumps(report, indent=1, cls=DjangoJSONEncoder))
