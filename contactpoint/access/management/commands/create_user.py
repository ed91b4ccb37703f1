from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from contactpoint.access.roles import ROLE_CODES
from contactpoint.access.services import api_token_issue, roles_sync, user_create


class Command(BaseCommand):
    help = "Create a user bound to an organisation and a local authority area."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--role", required=True, choices=ROLE_CODES)
        parser.add_argument("--organisation", required=True, help="Organisation code (created if new).")
        parser.add_argument("--local-authority", help="Local authority code (defaults to the organisation).")
        parser.add_argument(
            "--vetted", action="store_true", help="Record DBS, training and agreement as current."
        )
        parser.add_argument("--password", help="Initial password (one is generated and printed if omitted).")
        parser.add_argument("--family-name", default="", help="The user's own family name.")
        parser.add_argument("--email", default="", help="Where alerts and notices reach the user.")
        parser.add_argument(
            "--home-postcode", default="", help="Misuse detection flags searches at the user's own address."
        )
        parser.add_argument(
            "--api-token", action="store_true", help="Also issue a bearer token, printed as the last line."
        )
        parser.add_argument(
            "--unscheduled-care",
            action="store_true",
            help="An emergency or unscheduled-care setting: its lookups of children known to "
            "children's services are told to the responsible authority.",
        )

    def handle(self, *args, **options):
        roles_sync()
        try:
            user, password = user_create(
                username=options["name"],
                role_code=options["role"],
                organisation_code=options["organisation"],
                local_authority_code=options["local_authority"],
                vetted=options["vetted"],
                password=options["password"],
                family_name=options["family_name"],
                email=options["email"],
                home_postcode=options["home_postcode"],
                unscheduled_care=options["unscheduled_care"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Created {user.username} ({options['role']}).")
        if not options["password"]:
            self.stdout.write(f"Initial password: {password}")
        if options["api_token"]:
            self.stdout.write(
                api_token_issue(
                    user=user,
                    name=f"{user.username} (create_user)",
                    unscheduled_care=options["unscheduled_care"],
                )
            )
