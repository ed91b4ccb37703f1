"""Feed load throughput: one canonical file into PostgreSQL and SQLite, with and without workers.

Run:  .venv/bin/python bench/feed_load.py [--children 1030000] [--data DIR] [--baseline DIR]
Generates a synthetic population (or reuses DIR), then times `contactpoint load_feed` of its
GP registration file (about 0.97 rows per child) into fresh databases, in one run, and prints
rows per second for each case and the ratios between them. `--baseline DIR` (an export of an
earlier commit, e.g. `git archive main | tar -x -C DIR`) runs each case with that code too,
interleaved with the current code, so both see the same machine load.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432/{name}"


def contactpoint(*args: str, env: dict[str, str], code: Path = ROOT) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "contactpoint.manage", *args],
        cwd=code,
        env={**env, "PYTHONPATH": str(code)},
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def fresh_database(kind: str, workdir: Path, label: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / f'{label}.sqlite3'}"
    name = f"contactpoint_bench_{label}"
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    return PG.format(name=name)


def time_load(
    kind: str, workers: int, feed: Path, workdir: Path, code: Path = ROOT
) -> tuple[float, int, float]:
    label = f"{kind}_w{workers}_{'current' if code == ROOT else 'baseline'}"
    env = {
        **os.environ,
        "DATABASE_URL": fresh_database(kind, workdir, label),
        "CONTACTPOINT_FEED_WORKERS": str(workers),
        "DJANGO_SETTINGS_MODULE": "contactpoint.settings.local",
        "CONTACTPOINT_DATA_DIR": str(workdir),
    }
    contactpoint("migrate", env=env, code=code)
    contactpoint("sync_sources", env=env, code=code)
    cpu = _children_cpu()
    started = time.perf_counter()
    out = contactpoint(
        "load_feed",
        "--source",
        "gp_registration",
        "--extracted-at",
        "2026-10-01T06:00:00",
        str(feed),
        "-v",
        "0",
        env=env,
        code=code,
    )
    elapsed = time.perf_counter() - started
    cpu = _children_cpu() - cpu
    rows = int(out.split("rows read: ")[1].split()[0])
    return elapsed, rows, cpu


def _children_cpu() -> float:
    """CPU seconds used by finished child processes: the loader and its workers, not PostgreSQL."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=1_030_000)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--cases", default="postgresql:2,postgresql:0,sqlite:2,sqlite:0")
    parser.add_argument("--baseline", type=Path, help="a directory holding an earlier version's code")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="feedbench-"))
    data = args.data or workdir / "population"
    if not (data / "manifest.json").exists():
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "contactpoint.settings.local",
            "CONTACTPOINT_DATA_DIR": str(workdir),
        }
        contactpoint("synth", "--children", str(args.children), "--out", str(data), "-v", "0", env=env)
    feed = data / "gp_registration.csv"
    rows_in_file = json.loads((data / "manifest.json").read_text())["rows"]["gp_registration"]
    print(f"file: {feed} ({feed.stat().st_size / 1e6:.0f} MB, {rows_in_file} rows)")
    results = {}
    versions = [("current", ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
    for case in args.cases.split(","):
        kind, workers = case.split(":")
        for version, code in versions:
            elapsed, rows, cpu = time_load(kind, int(workers), feed, workdir, code)
            label = f"{case} {version}" if args.baseline else case
            results[label] = rows / elapsed
            print(
                f"{kind:>10}  workers={workers}  {version:>8}  {rows} rows  {elapsed:6.1f} s  "
                f"{rows / elapsed:8.0f} rows/s  loader CPU {cpu / rows * 1e6:5.1f} µs/row",
                flush=True,
            )
    base = next(iter(results))
    for label, rate in results.items():
        print(f"ratio {label} / {base}: {rate / results[base]:.2f}")
    baseline = f" --baseline {args.baseline}" if args.baseline else ""
    print(
        f"reproduce: {sys.executable} bench/feed_load.py --children {args.children} "
        f"--cases {args.cases}{baseline}"
    )


if __name__ == "__main__":
    main()
