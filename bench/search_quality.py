"""Search quality: queries typed the way practitioners type them, against a linked population.

Run:  .venv/bin/python bench/search_quality.py [--children 10000] [--queries 2000] [--seed 13]

Builds a fresh PostgreSQL index (synthetic population through the feed loader, then
`contactpoint link`), then searches for randomly chosen children with the details a practitioner
would have: family name and date of birth always; the given name usually, sometimes as a nickname
or with a typing slip; sometimes day and month swapped; sometimes only the postcode district.
A query is right when the first result is a child holding that person's records; prints the
share right first and in the top 5, and the mean time per search (audited, in-process).
"""

import argparse
import csv
import datetime
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def noisy_query(rng: random.Random, child: dict, kinds: dict[str, str] | None = None) -> dict:
    """One practitioner-typed query for `child`; `kinds` (if given) is filled with how each field
    was typed, for the breakdown of misses (`bench/search_http.py --misses`). The draws from `rng`
    do not depend on `kinds`, so a seed gives the same queries either way."""
    from contactpoint.synthetic.feeds import Noise, nicknames_of

    given = child["given_name"]
    roll = rng.random()
    given_kind = "given as is"
    if roll < 0.1 and (nicknames := nicknames_of(given)):
        given, given_kind = rng.choice(nicknames), "given nickname"
    elif roll < 0.2:
        given, given_kind = Noise(rng).typo(given), "given slip"
    elif roll < 0.3:
        given, given_kind = "", "given left out"
    family_roll = rng.random()
    family = child["family_name"] if family_roll > 0.05 else Noise(rng).typo(child["family_name"])
    born = datetime.date.fromisoformat(child["date_of_birth"])
    swap = False
    if rng.random() < 0.03 and born.day <= 12 and born.day != born.month:
        born, swap = datetime.date(born.year, born.day, born.month), True
    postcode = child["postcode"]
    postcode_roll = rng.random()
    postcode = postcode.split()[0] if postcode_roll < 0.5 else (postcode if rng.random() < 0.5 else "")
    if kinds is not None:
        kinds.update(
            given=given_kind,
            family="family slip" if family_roll <= 0.05 else "family as is",
            date="day/month swapped" if swap else "date as is",
            postcode="district only"
            if postcode_roll < 0.5
            else ("full postcode" if postcode else "no postcode"),
        )
    return {"given_name": given, "family_name": family, "date_of_birth": born, "postcode": postcode}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--children", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    import linkage_quality as lq

    lq.setup_django(lq.fresh_database(f"contactpoint_bench_search_{args.children}"))
    import tempfile

    from contactpoint.access.tests.factories import actor_for
    from contactpoint.feeds.models import SourceRecord
    from contactpoint.linkage.services import link_run
    from contactpoint.records.models import Organisation, OrganisationKind
    from contactpoint.search.selectors import SearchCriteria, children_search

    directory = lq.population(
        Path(tempfile.gettempdir()) / f"contactpoint-bench-search-{args.children}-{args.seed}",
        children=args.children,
        seed=args.seed,
    )
    lq.load(directory)
    link_run()
    person, _ = lq.truth(directory)
    children_of: dict[str, set[str]] = {}
    for source, srid, child in SourceRecord.objects.values_list(
        "source__code", "source_record_id", "child__contactpoint_id"
    ):
        children_of.setdefault(person[(source, srid)], set()).add(child)
    with (directory / "children.csv").open(newline="") as handle:
        people = [row for row in csv.DictReader(handle) if row["person_id"] in children_of]
    actor = actor_for(
        "practitioner", Organisation.objects.filter(kind=OrganisationKind.LOCAL_AUTHORITY).all()[0]
    )
    rng = random.Random(args.seed)  # noqa: S311 (a benchmark sample)
    first = top5 = 0
    elapsed = 0.0
    for wanted_person in rng.sample(people, min(args.queries, len(people))):
        criteria = SearchCriteria(**noisy_query(rng, wanted_person))
        started = time.perf_counter()
        hits = children_search(actor=actor, criteria=criteria, limit=5).hits
        elapsed += time.perf_counter() - started
        wanted = children_of[wanted_person["person_id"]]
        first += bool(hits) and hits[0].id in wanted
        top5 += any(hit.id in wanted for hit in hits)
    n = min(args.queries, len(people))
    print(
        f"{args.children} children, {n} typed queries: right first {first / n:.4f}, in the top 5 "
        f"{top5 / n:.4f}; mean {1000 * elapsed / n:.1f} ms per audited search (in-process)"
    )
    print(
        f"Reproduce: .venv/bin/python bench/search_quality.py --children {args.children} --seed {args.seed}"
    )


if __name__ == "__main__":
    main()
