"""The alias map: the shipped aliases.csv plus the user's own file, as data for identity resolution."""

from __future__ import annotations

import csv
from pathlib import Path

from etl_cli.errors import ConfigError
from etl_cli.transform.identity import AliasMap

SHIPPED_ALIASES = Path(__file__).with_name("aliases.csv")
COLUMNS = ["coingecko_id", "source", "source_asset_id"]


def read_aliases(extra: Path | None = None) -> AliasMap:
    """Read the shipped aliases and, if given, the user's file; `#` lines are comments."""
    aliases: dict[tuple[str, str], str] = {}
    for path in (SHIPPED_ALIASES, extra):
        if path is None:
            continue
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = csv.reader(line for line in handle if line.strip() and not line.lstrip().startswith("#"))
            if next(rows, None) != COLUMNS:
                raise ConfigError(f"{path}: an alias file starts with the header {','.join(COLUMNS)}")
            for number, row in enumerate(rows, start=2):
                if len(row) != len(COLUMNS) or not all(value.strip() for value in row):
                    raise ConfigError(f"{path}: alias row {number} needs {len(COLUMNS)} non-empty values")
                coingecko_id, source, source_asset_id = (value.strip() for value in row)
                aliases[source, source_asset_id] = coingecko_id
                aliases["coingecko", coingecko_id] = coingecko_id
    return aliases
