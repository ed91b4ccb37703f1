from collections.abc import Iterator


class UnreadableFile(Exception):
    """The file as a whole cannot be processed (missing, empty, no usable header)."""


# (row number counted from 1 after any header, cells, whether the row had more cells than the header)
RawRow = tuple[int, list[str] | dict[str, str], bool]


class FeedReader:
    """Iterates a feed's rows. `header` is the column list when the format has one (cells are then
    lists in header order); keyed formats have no header and give each row as a dict."""

    header: tuple[str, ...] | None = None

    def rows(self) -> Iterator[RawRow]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the file handle."""
