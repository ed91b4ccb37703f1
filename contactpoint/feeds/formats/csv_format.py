"""The canonical CSV: UTF-8 (with or without BOM), a header row, one child per row."""

import csv
from collections.abc import Iterator
from pathlib import Path

from .base import FeedReader, RawRow, UnreadableFile

# Large enough to read (and then refuse) a hostile 10 MB cell rather than crash on it.
csv.field_size_limit(64 * 1024 * 1024)


class CsvReader(FeedReader):
    def __init__(self, path: Path):
        try:
            # surrogateescape keeps undecodable bytes so validation can repair or refuse them per cell
            self.handle = path.open(newline="", encoding="utf-8-sig", errors="surrogateescape")
        except OSError as exc:
            raise UnreadableFile(f"Cannot open {path}: {exc.strerror}.") from exc
        self.reader = csv.reader(self.handle)
        try:
            header = next(self.reader)
        except StopIteration:
            self.close()
            raise UnreadableFile(f"{path.name} is empty: it has no header row.") from None
        except csv.Error as exc:
            self.close()
            raise UnreadableFile(f"{path.name} has no readable header row: {exc}.") from exc
        self.header = tuple(column.strip().lower() for column in header)
        if "source_record_id" not in self.header:
            self.close()
            raise UnreadableFile(f"{path.name} has no source_record_id column in its header.")

    def rows(self) -> Iterator[RawRow]:
        width = len(self.header or ())
        number = 0
        while True:
            try:
                fields = next(self.reader)
            except StopIteration:
                return
            except csv.Error:
                number += 1
                yield number, [], True
                continue
            number += 1
            if not fields:
                number -= 1  # a blank line is not a row
                continue
            # Short rows are left-aligned (missing trailing cells are empty); extra cells mean the
            # columns cannot be trusted.
            yield number, fields, len(fields) > width

    def close(self) -> None:
        self.handle.close()


def read(path: Path) -> FeedReader:
    return CsvReader(path)
