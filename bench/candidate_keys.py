"""What the blind candidate index costs linkage per record: the keys computed, and their rows.

Run:  .venv/bin/python bench/candidate_keys.py --database NAME [--records 50000] [--rounds 3]

Reads up to `--records` linked source records of a built database (bench/linkage_pipeline.py or
bench/search_http.py leave one), then, interleaved in one process for `--rounds`, times the
keys linkage writes per record: the plaintext blocking keys (before) and the blind keys with the
family-name trigrams (`candidates.record_keys`), and COPYs each set into a temporary table (the
write linkage pays). Prints µs per record and rows per record for both.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", required=True)
    parser.add_argument("--records", type=int, default=50000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import linkage_quality as lq

    lq.setup_django(f"postgres://postgres@127.0.0.1:5432/{args.database}")
    from django.db import connection

    from contactpoint.feeds.models import SourceRecord
    from contactpoint.linkage.blind import index_keys
    from contactpoint.linkage.candidates import record_keys
    from contactpoint.linkage.frame import RECORD_FIELDS, record_features
    from contactpoint.linkage.model import candidate_keys
    from contactpoint.records import sealed

    rows = sealed.values_opened(
        SourceRecord.objects.filter(child__isnull=False), *RECORD_FIELDS, "child_id", limit=args.records
    )
    key = index_keys(fresh=True)[0]

    def plain(row):
        return [k.encode() for k in candidate_keys(record_features({n: row[n] for n in RECORD_FIELDS}))]

    def blind(row):
        return record_keys(row, key)

    timings: dict[str, list[float]] = {"plaintext": [], "blind": []}
    written: dict[str, list[float]] = {"plaintext": [], "blind": []}
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bench_keys (record_id bigint, child_id bigint, key bytea)")
        cursor.execute("CREATE INDEX ON bench_keys (key)")
        for _ in range(args.rounds):
            for name, make in (("plaintext", plain), ("blind", blind)):
                started = time.process_time()
                keyed = [(row["pk"], row["child_id"], k) for row in rows for k in make(row)]
                timings[name].append(1e6 * (time.process_time() - started) / len(rows))
                counts[name] = len(keyed)
                started = time.perf_counter()
                with cursor.cursor.copy("COPY bench_keys (record_id, child_id, key) FROM STDIN") as copy:
                    for item in keyed:
                        copy.write_row(item)
                written[name].append(1e6 * (time.perf_counter() - started) / len(rows))
                cursor.execute("TRUNCATE bench_keys")
    for name in ("plaintext", "blind"):
        print(
            f"{name}: {statistics.median(timings[name]):.1f} µs CPU a record to compute, "
            f"{statistics.median(written[name]):.1f} µs a record to COPY with the key index, "
            f"{counts[name] / len(rows):.2f} rows a record"
        )
    print(f"{len(rows)} records; load average {[round(x, 1) for x in os.getloadavg()]}")
    print(
        f"Reproduce: .venv/bin/python bench/candidate_keys.py --database {args.database} "
        f"--records {args.records} --rounds {args.rounds}"
    )


if __name__ == "__main__":
    main()
