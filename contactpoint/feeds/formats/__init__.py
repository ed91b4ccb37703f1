"""Feed file formats. A format is one module with `read(path) -> FeedReader`; register it here."""

from pathlib import Path

from . import csv_format, jsonl_format
from .base import FeedReader, RawRow, UnreadableFile

FORMATS = {"csv": csv_format.read, "jsonl": jsonl_format.read}
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def format_for(path: Path, requested: str | None = None) -> str:
    name = requested or EXTENSIONS.get(path.suffix.lower())
    if name not in FORMATS:
        raise UnreadableFile(
            f"Cannot tell the format of {path.name}; use one of: {', '.join(sorted(FORMATS))}."
        )
    return name


def open_feed(path: Path, format_name: str) -> FeedReader:
    return FORMATS[format_name](path)


__all__ = ["EXTENSIONS", "FORMATS", "FeedReader", "RawRow", "UnreadableFile", "format_for", "open_feed"]
