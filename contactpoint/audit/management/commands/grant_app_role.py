from django.core.management.base import BaseCommand, CommandError

from contactpoint.audit.dbgrants import app_role_grant


class Command(BaseCommand):
    help = (
        "PostgreSQL: grant the application's database role what it needs, with SELECT and INSERT only "
        "on the audit log's tables. Run as the tables' owner after every migrate."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="The application's role, e.g. contactpoint_app.")
        parser.add_argument("--create", action="store_true", help="Create the role (LOGIN, no password).")

    def handle(self, *args, role, create, **options):
        try:
            statements = app_role_grant(role=role, create=create)
        except (ValueError, RuntimeError) as exc:
            raise CommandError(str(exc)) from exc
        for statement in statements:
            self.stdout.write(statement + ";")
        self.stdout.write(f"Run the application as {role}; set its password with \\password {role} in psql.")
