"""Canonical identity: which existing asset, if any, a newly seen source record is. Pure, deterministic.

Rules, in order; the first that decides wins:
1. Alias map: the record is listed with a CoinGecko id, and an asset already has a member of that group.
2. CoinPaprika ids are `symbol-slug`: a CoinPaprika record and a CoinGecko record with the same symbol are
   one coin when the CoinGecko id equals the slug, or the CoinGecko name, normalized, equals the slug.
3. Same symbol and names that agree once normalized (case, punctuation, hyphens, the words in GENERIC_WORDS,
   a former name in parentheses), accepted only when it is the one candidate on each side. A CoinPaprika id
   whose prefix is not its symbol (`bttc-bittorrent-chain` for BTT) names a different listing: it needs
   rule 1 or 2.
Rules 2 and 3 are vetoed when both sources observed the coin within the same hour at prices more than 5%
apart.
A symbol alone never merges, two ids of one source are never one asset, and a record that no rule places gets
an asset of its own: precision beats recall.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

GENERIC_WORDS = frozenset({"the", "token", "network", "protocol"})
PRICE_VETO = Decimal("0.05")
SAME_HOUR = timedelta(hours=1)

Key = tuple[str, str]  # (source, source asset id)
AliasMap = Mapping[Key, str]  # member -> group (its CoinGecko id)


@dataclass(frozen=True)
class SourceRecord:
    """A source's view of a coin: what identity resolution compares."""

    source: str
    source_asset_id: str
    symbol: str
    name: str | None
    price_usd: Decimal | None = None
    observed_at: datetime | None = None

    @property
    def key(self) -> Key:
        """(source, source asset id)."""
        return self.source, self.source_asset_id


@dataclass(frozen=True)
class KnownRecord:
    """A source record already linked to a canonical asset."""

    asset_id: int
    record: SourceRecord


def normalize_name(name: str | None) -> str:
    """Fold a coin name for comparison: `POL (ex-MATIC)` -> `pol`, `Flare Network` -> `flare`."""
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"\([^)]*\)", " ", text)
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    return " ".join(word for word in words if word not in GENERIC_WORDS)


def resolve(
    new: Sequence[SourceRecord], known: Sequence[KnownRecord], aliases: AliasMap
) -> dict[Key, int | None]:
    """Map each new record to the asset it belongs to, or None where it needs an asset of its own."""
    candidates = Candidates(new, known, aliases)
    choices = {r.key: candidates.choose(r) for r in new}
    claims: dict[int, int] = defaultdict(int)
    for asset_id in choices.values():
        if asset_id is not None:
            claims[asset_id] += 1
    taken = {(k.asset_id, k.record.source) for k in known}
    # Two new ids of one source never share an asset, nor does an id join an asset its source already feeds.
    return {
        key: asset_id
        if asset_id is not None and claims[asset_id] == 1 and (asset_id, key[0]) not in taken
        else None
        for key, asset_id in choices.items()
    }


class Candidates:
    """The known records indexed by what the rules compare, so each new record is placed in constant time."""

    def __init__(self, new: Sequence[SourceRecord], known: Sequence[KnownRecord], aliases: AliasMap) -> None:
        self.aliases = aliases
        self.by_group: dict[str, list[KnownRecord]] = defaultdict(list)
        self.by_symbol: dict[str, list[KnownRecord]] = defaultdict(list)
        self.by_asset: dict[int, list[KnownRecord]] = defaultdict(list)
        self.by_coin: dict[tuple[str, str], list[tuple[int | None, SourceRecord]]] = defaultdict(list)
        for k in known:
            if k.record.key in aliases:
                self.by_group[aliases[k.record.key]].append(k)
            self.by_symbol[k.record.symbol.upper()].append(k)
            self.by_asset[k.asset_id].append(k)
            self.by_coin[_coin(k.record)].append((k.asset_id, k.record))
        for r in new:
            self.by_coin[_coin(r)].append((None, r))

    def choose(self, record: SourceRecord) -> int | None:
        """Apply the rules in order to one new record."""
        group = self.aliases.get(record.key)
        if group is not None:
            members = sorted({k.asset_id for k in self.by_group[group] if k.record.source != record.source})
            if members:
                return members[0]
        by_slug = _one(
            {
                k.asset_id
                for k in self.by_symbol[record.symbol.upper()]
                if k.record.source != record.source and _slug_match(record, k.record)
            }
        )
        if by_slug is not None:
            return None if self._vetoed(record, by_slug) else by_slug
        return self._by_name(record)

    def _by_name(self, record: SourceRecord) -> int | None:
        if not _names_are_meaningful(record) or not normalize_name(record.name):
            return None
        same_coin = self.by_coin[_coin(record)]
        if len({r.key for _, r in same_coin if r.source == record.source}) != 1:
            return None
        asset_id = _one(
            {
                asset_id
                for asset_id, r in same_coin
                if asset_id is not None and r.source != record.source and _names_are_meaningful(r)
            }
        )
        if asset_id is None or self._vetoed(record, asset_id):
            return None
        return asset_id

    def _vetoed(self, record: SourceRecord, asset_id: int) -> bool:
        """Prices more than 5% apart within the same hour say these are different coins."""
        for known in self.by_asset[asset_id]:
            theirs = known.record
            if theirs.source == record.source or record.price_usd is None or theirs.price_usd is None:
                continue
            if record.observed_at is None or theirs.observed_at is None:
                continue
            if abs(record.observed_at - theirs.observed_at) >= SAME_HOUR:
                continue
            low, high = sorted((record.price_usd, theirs.price_usd))
            if low == 0 or (high - low) / low > PRICE_VETO:
                return True
        return False


def _coin(record: SourceRecord) -> tuple[str, str]:
    """What rule 3 compares: the symbol and the normalized name."""
    return record.symbol.upper(), normalize_name(record.name)


def _names_are_meaningful(record: SourceRecord) -> bool:
    if record.source != "coinpaprika":
        return True
    prefix, _, _ = record.source_asset_id.partition("-")
    return prefix == record.symbol.lower()


def _slug_match(a: SourceRecord, b: SourceRecord) -> bool:
    pair = {a.source: a, b.source: b}
    paprika, gecko = pair.get("coinpaprika"), pair.get("coingecko")
    if paprika is None or gecko is None or paprika.symbol.upper() != gecko.symbol.upper():
        return False
    _, _, slug = paprika.source_asset_id.partition("-")
    return bool(slug) and (
        slug == gecko.source_asset_id or normalize_name(slug) == normalize_name(gecko.name)
    )


def _one(asset_ids: set[int]) -> int | None:
    return next(iter(asset_ids)) if len(asset_ids) == 1 else None
