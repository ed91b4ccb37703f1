import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from contactpoint.retention.services import retention_apply


class Command(BaseCommand):
    help = "Archives and destroys records as the retention policy requires (idempotent; run daily)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--simulate", action="store_true", help="Report exactly what would be done; change nothing."
        )
        parser.add_argument("--today", help="Apply the policy as of this date (YYYY-MM-DD); default today.")

    def handle(self, *args, simulate: bool, today: str | None, **options):
        try:
            day = datetime.date.fromisoformat(today) if today else timezone.localdate()
        except ValueError:
            raise CommandError(f"--today {today!r} is not a date (YYYY-MM-DD).") from None
        report = retention_apply(today=day, simulate=simulate)
        verb = "Would" if simulate else "Did"
        for d in report.decisions:
            self.stdout.write(f"{d.action}\t{d.contactpoint_id}\t{d.basis}\tdue {d.on.isoformat()}")
        for label, n in sorted(report.rows.items()):
            self.stdout.write(f"rows\t{label}\t{n}")
        for year in report.criteria_years_destroyed:
            self.stdout.write(f"audit search criteria of {year}: key destroyed")
        self.stdout.write(
            f"{verb} archive {report.count('archive')} and destroy {report.count('destroy')} "
            f"as of {day.isoformat()}; {report.no_birth_date} live record(s) have no date of birth "
            "to decide by."
        )
