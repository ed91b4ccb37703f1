import datetime
import time
from pathlib import Path

from django.core.management.base import BaseCommand
from tqdm import tqdm

from contactpoint.synthetic.feeds import write_population

DEFAULT_AS_OF = datetime.date(2026, 10, 1)


class Command(BaseCommand):
    help = "Write a synthetic population as source feed files, with organisations and ground truth."
    requires_system_checks: list[str] = []  # writes files only; needs no database

    def add_arguments(self, parser):
        parser.add_argument("--children", type=int, default=20_000)
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--seed", type=int, default=2009)
        parser.add_argument(
            "--as-of",
            type=datetime.date.fromisoformat,
            default=DEFAULT_AS_OF,
            help="The date the population is drawn for (fixed by default so output is reproducible).",
        )

    def handle(self, *args, children, out, seed, as_of, **options):
        started = time.perf_counter()
        with tqdm(total=children, unit="child", disable=options["verbosity"] < 1) as bar:
            manifest = write_population(
                children=children, seed=seed, out=out, as_of=as_of, progress=bar.update
            )
        rows = ", ".join(f"{source} {count}" for source, count in manifest["rows"].items())
        self.stdout.write(
            f"Wrote {manifest['children']} children to {out} in {time.perf_counter() - started:.1f}s: {rows}."
        )
