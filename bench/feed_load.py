"""Feed load throughput: one canonical file into PostgreSQL and SQLite, with and without workers.

Run:  .venv/bin/python bench/feed_load.py [--children 1030000] [--data DIR] [--baseline DIR]
Generates a synthetic population (or reuses DIR), then times `contactpoint load_feed` of its
GP registration file (about 0.97 rows per child) into fresh databases, in one run, and prints
rows per second for each case and the ratios between them. `--baseline DIR` (an export of an
earlier commit, e.g. `git archive main | tar -x -C DIR`) runs each case with that code too,
interleaved with the current code, so both see the same machine load. `--quarantine P` loads a
copy of the file in which P% of the rows have no name (quarantined) and another P% an NHS number
with a digit too many (loaded without it, with a warning quoting it).
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

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
    name = f"contactpoint_bench_{label}_{os.getpid()}"  # two runs at once must not share one
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    return PG.format(name=name)


class CpuMeter:
    """CPU seconds of the load: its process group (the command, its forkserver and workers) and
    the PostgreSQL backends serving its database, sampled from /proc while it runs.

    Wall time on a machine shared with other work mostly measures the other work; CPU per row
    does not, and it is what decides the rate when the load has both cores to itself.
    """

    def __init__(self, group: int, database: str | None):
        self.group, self.database = group, database
        self.loader: dict[int, float] = {}
        self.postgres: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            self.sample()

    def sample(self) -> None:
        for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
            stat = _stat(pid)
            if stat and stat[0] == self.group:
                self.loader[pid] = stat[1]
        if self.database:
            for pid in _backends(self.database):
                stat = _stat(pid)
                if stat:
                    self.postgres[pid] = stat[1]

    def finish(self) -> tuple[float, float]:
        self.stop.set()
        self.thread.join()
        return sum(self.loader.values()), sum(self.postgres.values())


def _stat(pid: int) -> tuple[int, float] | None:
    """A process's group and CPU seconds (user + system)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backends(database: str) -> list[int]:
    with psycopg.connect(PG.format(name="postgres")) as admin:
        rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database]).fetchall()
    return [pid for (pid,) in rows]


def time_load(
    kind: str, workers: int, feed: Path, workdir: Path, code: Path = ROOT
) -> tuple[float, int, float, float]:
    """Wall seconds, rows read, and CPU seconds of the loader (with workers) and of PostgreSQL."""
    label = f"{kind}_w{workers}_{'current' if code == ROOT else 'baseline'}"
    url = fresh_database(kind, workdir, label)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CONTACTPOINT_FEED_WORKERS": str(workers),
        "DJANGO_SETTINGS_MODULE": "contactpoint.settings.local",
        "CONTACTPOINT_DATA_DIR": str(workdir),
        "PYTHONPATH": str(code),
    }
    contactpoint("migrate", env=env, code=code)
    contactpoint("sync_sources", env=env, code=code)
    args = ["load_feed", "--source", "gp_registration", "--extracted-at", "2026-10-01T06:00:00"]
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "contactpoint.manage", *args, str(feed), "-v", "0"],
        cwd=code,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so its workers can be told apart
    )
    meter = CpuMeter(process.pid, url.rsplit("/", 1)[1] if kind == "postgresql" else None)
    out, _ = process.communicate()
    elapsed = time.perf_counter() - started
    loader_cpu, postgres_cpu = meter.finish()
    if process.returncode:
        raise SystemExit(f"load_feed failed with status {process.returncode}")
    rows = int(out.split("rows read: ")[1].split()[0])
    if kind == "postgresql":
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", url.rsplit("/", 1)[1]], check=True)
    else:
        Path(url.removeprefix("sqlite:///")).unlink()
    return elapsed, rows, loader_cpu, postgres_cpu


def spoiled(feed: Path, percent: int, workdir: Path) -> Path:
    """A copy of the file with `percent`% of rows quarantined and as many warned about."""
    out = workdir / f"quarantine-{percent}-{feed.name}"
    with (
        feed.open(newline="", encoding="utf-8") as source,
        out.open("w", newline="", encoding="utf-8") as sink,
    ):
        reader = csv.DictReader(source)
        writer = csv.DictWriter(sink, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        for i, row in enumerate(reader):
            if i % 100 < percent:
                row.update(given_name="", middle_names="", family_name="")
            elif i % 100 < 2 * percent:
                row["nhs_number"] += "1"
            writer.writerow(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=1_030_000)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--cases", default="postgresql:2,postgresql:0,sqlite:2,sqlite:0")
    parser.add_argument("--baseline", type=Path, help="a directory holding an earlier version's code")
    parser.add_argument(
        "--quarantine", type=int, default=0, help="percent of rows to quarantine (and to warn)"
    )
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
    if args.quarantine:
        feed = spoiled(feed, args.quarantine, workdir)
    print(f"file: {feed} ({feed.stat().st_size / 1e6:.0f} MB, {rows_in_file} rows)")
    results = {}
    versions = [("current", ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
    for case in args.cases.split(","):
        kind, workers = case.split(":")
        for version, code in versions:
            elapsed, rows, loader_cpu, postgres_cpu = time_load(kind, int(workers), feed, workdir, code)
            label = f"{case} {version}" if args.baseline else case
            results[label] = rows / elapsed
            print(
                f"{kind:>10}  workers={workers}  {version:>8}  {rows} rows  {elapsed:6.1f} s  "
                f"{rows / elapsed:8.0f} rows/s  CPU per row: loader and workers "
                f"{loader_cpu / rows * 1e6:5.1f} µs, PostgreSQL {postgres_cpu / rows * 1e6:5.1f} µs, "
                f"total {(loader_cpu + postgres_cpu) / rows * 1e6:5.1f} µs",
                flush=True,
            )
    base = next(iter(results))
    for label, rate in results.items():
        print(f"ratio {label} / {base}: {rate / results[base]:.2f}")
    baseline = f" --baseline {args.baseline}" if args.baseline else ""
    baseline += f" --quarantine {args.quarantine}" if args.quarantine else ""
    print(
        f"reproduce: {sys.executable} bench/feed_load.py --children {args.children} "
        f"--cases {args.cases}{baseline}"
    )


if __name__ == "__main__":
    main()
