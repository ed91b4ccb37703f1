import base64
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_otp.plugins.otp_totp.models import TOTPDevice

from contactpoint.access.actors import Actor
from contactpoint.access.models import Shield
from contactpoint.access.roles import ROLES
from contactpoint.access.services import roles_sync, shield_add, user_create
from contactpoint.linkage.selectors import review_queue_for
from contactpoint.records.models import Child, Organisation, OrganisationKind
from contactpoint.retention.models import ArchiveBasis, ChildRetention, RetentionState
from contactpoint.synthetic.load import load_population

DEMO_PASSWORD = "contactpoint-demo"  # noqa: S105 - printed for the demo; the demo holds synthetic data only
DEMO_LA_CODE = "383"  # Leeds: a large area in the synthetic population
# A team elsewhere: it cannot see through the demo authority's shields, but may override one.
OTHER_TEAM, OTHER_LA_CODE = "demo-other-la-team", "352"
EMERGENCY = (
    "demo-emergency-care"  # an unscheduled-care setting: opening a child known to social care notifies
)
# Every demo user shares one published authenticator key: the demo holds synthetic data only.
DEMO_TOTP_KEY_HEX = "636f6e74616374706f696e742d64656d6f2d6b6579"


def _live():
    """Children anyone may open: not merged away, not archived."""
    archived = ChildRetention.objects.filter(state=RetentionState.ARCHIVED).values("child_id")
    return Child.objects.filter(merged_into__isnull=True).exclude(pk__in=archived)


def demo_totp_secret() -> str:
    return base64.b32encode(bytes.fromhex(DEMO_TOTP_KEY_HEX)).decode()


class Command(BaseCommand):
    help = "Prepare the demo (database, synthetic population, a user per role) and serve the web UI."

    def add_arguments(self, parser):
        parser.add_argument("--children", type=int, default=20_000)
        parser.add_argument("--seed", type=int, default=2009)
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--no-server", action="store_true", help="Prepare everything, then stop.")

    def handle(self, *args, children, seed, addrport, no_server, **options):
        call_command("migrate", interactive=False, verbosity=0)
        roles_sync()
        self._population(children, seed)
        self._scope()
        self._districts()
        users = self._users()
        shielded = self._shields()
        call_command("seal_audit", grace_seconds=0, verbosity=0)
        self.stdout.write(self.style.SUCCESS(f"\nContactPoint demo: http://{addrport}/"))
        self.stdout.write(f"Sign in as any of these, with the password {DEMO_PASSWORD!r}:")
        for username, role in users:
            self.stdout.write(f"  {username:<20} {role}")
        self.stdout.write(
            f"Second step: add the key {demo_totp_secret()} to an authenticator app, or run "
            "`.venv/bin/contactpoint demo_code` for the current code."
        )
        port = addrport.rsplit(":", 1)[-1]
        self.stdout.write(
            f"Security keys and passkeys (Sign-in security) work at http://localhost:{port}/: WebAuthn "
            "binds keys to a host name, never to an IP address."
        )
        self.stdout.write("Django admin for the ContactPoint team: /admin/ (user demo-system-admin)")
        example = _live().exclude(contactpoint_id__in=shielded).order_by("pk").first()
        if example is not None:
            self.stdout.write(
                f"A child's record to open: http://{addrport}/children/{example.contactpoint_id}/"
            )
        if shielded:
            self.stdout.write(
                f"Shielded children: {', '.join(shielded)} (open one as demo-practitioner to see the "
                f"shielded view, or as {OTHER_TEAM} to override the shield)\n"
            )
        self._review_queue(addrport)
        if not no_server:
            call_command("runserver", addrport, use_reloader=False)

    def _population(self, children: int, seed: int) -> None:
        if Child.objects.exists():
            self.stdout.write(f"The index already holds {Child.objects.count()} children; keeping them.")
            return
        data_dir = Path(settings.DATA_DIR) / f"demo-population-{children}-{seed}"
        if not (data_dir / "manifest.json").exists():
            call_command("synth", children=children, seed=seed, out=data_dir)
        started = time.perf_counter()
        self.stdout.write(f"Loading the synthetic population from {data_dir} ...")
        counts = load_population(data_dir, say=self.stdout.write)
        self.stdout.write(f"Loaded {counts['Child']} children in {time.perf_counter() - started:.0f}s.")

    def _scope(self) -> None:
        """A targeted deployment's daily review: the population's closed cases leave its scope."""
        from contactpoint.signposting.scope import targeted
        from contactpoint.signposting.services import scope_review

        if not targeted():
            return
        counts = scope_review()
        archived = Child.objects.filter(retention__archive_basis=ArchiveBasis.LEFT_SCOPE).count()
        self.stdout.write(
            f"Targeted scope: {_live().count()} children known to services; the scope review archived "
            f"{counts['archived']} and restored {counts['restored']} ({archived} archived for leaving "
            "scope in all: demo-data-manager finds them during the archive's first year)."
        )

    def _districts(self) -> None:
        """Which authority each synthetic postcode district lies in, so moves between areas notify."""
        from contactpoint.notifications.services import postcode_districts_load
        from contactpoint.synthetic.reference import LOCAL_AUTHORITIES

        held = set(
            Organisation.objects.filter(kind=OrganisationKind.LOCAL_AUTHORITY).values_list("code", flat=True)
        )
        rows = [
            {"district": district, "local_authority_code": str(la.number)}
            for la in LOCAL_AUTHORITIES
            if str(la.number) in held
            for _town, districts in la.towns
            for district in districts
        ]
        if rows:
            postcode_districts_load(rows=rows)

    def _review_queue(self, addrport: str) -> None:
        """The population is linked for real, so its twins and conflicting records wait for review."""
        user_model = get_user_model()
        team = Actor.for_user(user_model.objects.get(username="demo-la-management"))
        manager = Actor.for_user(user_model.objects.get(username="demo-data-manager"))
        self.stdout.write(
            f"Linkage review queue: http://{addrport}/linkage/review/ "
            f"({review_queue_for(actor=team).count()} pairs for demo-la-management's area, "
            f"{review_queue_for(actor=manager).count()} for demo-data-manager)"
        )

    def _shields(self) -> list[str]:
        """Shield a few children, as the demo authority's team, so the shielded pages can be shown."""
        team_user = get_user_model().objects.get(username="demo-la-management")
        team = Actor.for_user(team_user)
        active = Shield.objects.filter(ended_at__isnull=True)
        shielded = list(active.values_list("child__contactpoint_id", flat=True)[:2])
        unshielded = _live().exclude(pk__in=active.values("child")).order_by("pk")
        for child in unshielded[: max(0, 2 - len(shielded))]:
            shield_add(child=child, actor=team, reason="Demo: family living in a refuge")
            shielded.append(child.contactpoint_id)
        return shielded

    def _users(self) -> list[tuple[str, str]]:
        """One vetted user per role at the demo authority, each with the demo authenticator; idempotent."""
        la = Organisation.objects.filter(kind=OrganisationKind.LOCAL_AUTHORITY, code=DEMO_LA_CODE).first()
        la_code = la.code if la else DEMO_LA_CODE
        users = []
        accounts = [(f"demo-{role.code.replace('_', '-')}", role.code, la_code, role.name) for role in ROLES]
        accounts.append(
            (OTHER_TEAM, "la_management", OTHER_LA_CODE, "ContactPoint team of another authority")
        )
        accounts.append(
            (EMERGENCY, "practitioner", la_code, "Emergency department (its lookups notify the authority)")
        )
        for username, role_code, area, role_name in accounts:
            user: Any = get_user_model().objects.filter(username=username).first()
            if user is None:
                user, _ = user_create(
                    username=username,
                    role_code=role_code,
                    organisation_code=area,
                    local_authority_code=area,
                    vetted=True,
                    password=DEMO_PASSWORD,
                    unscheduled_care=username == EMERGENCY,
                )
                if role_code == "system_admin":
                    user.is_staff = user.is_superuser = True
                    user.save(update_fields=["is_staff", "is_superuser"])
            TOTPDevice.objects.get_or_create(
                user=user, name="Demo authenticator", defaults={"key": DEMO_TOTP_KEY_HEX, "confirmed": True}
            )
            users.append((username, role_name))
        return users
