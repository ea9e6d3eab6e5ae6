"""The CSV layouts we accept, recognised once from a file's header line.

The extractor reads the header to refuse an unknown file before anything is written, and hands the layout to
the transform on every chunk, so the header is parsed once per file.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass

HISTORICAL_HEADER = ("SNo", "Name", "Symbol", "Date", "High", "Low", "Open", "Close", "Volume", "Marketcap")
GENERIC_COLUMNS = ("symbol", "name", "price_usd", "market_cap_usd", "volume_24h_usd", "observed_at")
GENERIC_OPTIONAL = ("source_asset_id",)
ACCEPTED_HEADERS = (
    f"{','.join(HISTORICAL_HEADER)} (historical prices) or "
    f"{','.join(GENERIC_COLUMNS)}[,source_asset_id] (cryptoetl's own, any order)"
)


@dataclass(frozen=True)
class CsvLayout:
    """A recognised header: which layout, and the key of each column in file order."""

    name: str  # "historical" or "generic"
    # As written for the historical layout; lower-case for cryptoetl's own, whose names are case-blind.
    columns: tuple[str, ...]


def detect_layout(header: Sequence[str]) -> CsvLayout | None:
    """Recognise a header's column names; None when it is neither accepted layout."""
    columns = tuple(column.strip() for column in header)
    if columns == HISTORICAL_HEADER:
        return CsvLayout("historical", columns)
    names = tuple(column.lower() for column in columns)
    if len(set(names)) == len(names) and set(GENERIC_COLUMNS) <= set(names) <= {
        *GENERIC_COLUMNS,
        *GENERIC_OPTIONAL,
    }:
        return CsvLayout("generic", names)
    return None


def parse_header(line: bytes) -> CsvLayout:
    """Recognise a header line as read from the file (UTF-8, with or without BOM).

    Raises:
        ValueError: the line is not UTF-8 CSV, or not an accepted header; the message says which.
    """
    try:
        text = line.decode("utf-8-sig").removesuffix("\n").removesuffix("\r")
        header = next(csv.reader([text]), [])
    except UnicodeDecodeError as exc:
        raise ValueError(f"not a UTF-8 CSV file ({exc})") from None
    except csv.Error as exc:
        raise ValueError(f"not a CSV header ({exc})") from None
    layout = detect_layout(header)
    if layout is None:
        raise ValueError(f"unknown CSV header {','.join(header)!r}; accepted: {ACCEPTED_HEADERS}")
    return layout
