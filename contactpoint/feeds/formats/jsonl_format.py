"""JSON Lines, as school-census-style systems export: one JSON object per line, same keys as the CSV."""

import json
from collections.abc import Iterator
from pathlib import Path

from .base import FeedReader, RawRow, UnreadableFile


class JsonLinesReader(FeedReader):
    def __init__(self, path: Path):
        try:
            self.handle = path.open(encoding="utf-8", errors="surrogateescape")
        except OSError as exc:
            raise UnreadableFile(f"Cannot open {path}: {exc.strerror}.") from exc

    def rows(self) -> Iterator[RawRow]:
        number = 0
        for line in self.handle:
            if not line.strip():
                continue
            number += 1
            try:
                item = json.loads(line)
            except ValueError:
                yield number, {}, True
                continue
            if not isinstance(item, dict):
                yield number, {}, True
                continue
            yield number, {str(k).strip().lower(): _text(v) for k, v in item.items()}, False

    def close(self) -> None:
        self.handle.close()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def read(path: Path) -> FeedReader:
    return JsonLinesReader(path)
