"""The load report, as a data manager reads it."""

from typing import Any


def report_lines(report: dict[str, Any]) -> list[str]:
    lines = [
        f"rows read: {report['rows_read']}",
        f"loaded: {report['loaded']} (new {report['new']}, updated {report['updated']}, "
        f"unchanged {report['unchanged']}, withdrawn {report['withdrawn']}, "
        f"older than held {report.get('stale', 0)})",
        f"quarantined: {report['quarantined']}",
    ]
    lines += [f"  {reason}: {count}" for reason, count in report["quarantine_reasons"].items()]
    if report["warnings"]:
        lines.append(f"warnings: {sum(report['warnings'].values())}")
        lines += [f"  {kind}: {count}" for kind, count in report["warnings"].items()]
    if report["refused_columns"]:
        lines.append(
            "refused columns (not statutory or not sent by this source; values not stored): "
            + ", ".join(report["refused_columns"])
        )
    return lines
