from django.core.management.base import BaseCommand

from contactpoint.audit.misuse import misuse_detect
from contactpoint.audit.misuse_rules import RULES


class Command(BaseCommand):
    help = "Evaluate the misuse rules over recent audit events and raise alerts (run hourly)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--rule", action="append", choices=[r.code for r in RULES], help="Only these rules."
        )

    def handle(self, *args, rule, **options):
        rules = [r for r in RULES if not rule or r.code in rule]
        alerts = misuse_detect(rules=rules)
        for alert in alerts:
            self.stdout.write(f"Alert {alert.pk} ({alert.rule}) for {alert.username}: {alert.summary}")
        self.stdout.write(f"{len(rules)} rules evaluated; {len(alerts)} new alerts.")
