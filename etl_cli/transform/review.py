"""The review queue: pairs of assets that are likely one coin but that the rules did not join. Pure.

A pair is two listings of one symbol from different sources, on different assets, that no bridge marker or
alias group sets apart, and that either agree on something strong (but a veto or a rival stopped the rules)
or are the only two listings of their symbol. Each comes with its evidence and the alias lines that join it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from etl_cli.transform.evidence import BRIDGE_WORDS, Comparison, compare, profile
from etl_cli.transform.identity import AliasMap, KnownRecord, group_of


@dataclass(frozen=True)
class Candidate:
    """Two assets that may be one coin: the evidence for and against, and the alias lines that join them."""

    first: KnownRecord
    second: KnownRecord
    comparison: Comparison
    why_not: str
    alias_lines: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "listings": [
                {
                    "asset_id": k.asset_id,
                    "source": k.record.source,
                    "source_asset_id": k.record.source_asset_id,
                    "symbol": k.record.symbol,
                    "name": k.record.name,
                }
                for k in (self.first, self.second)
            ],
            "agreements": [str(f) for f in self.comparison.agreements],
            "disagreements": [str(f) for f in self.comparison.vetoes],
            "why_not": self.why_not,
            "alias_lines": list(self.alias_lines),
        }


def review_queue(known: Sequence[KnownRecord], aliases: AliasMap) -> list[Candidate]:
    """Likely pairs the rules did not join, strongest evidence first; one pair per two assets."""
    by_symbol: dict[str, list[KnownRecord]] = defaultdict(list)
    sources: dict[int, set[str]] = defaultdict(set)
    coins: dict[int, set[str]] = defaultdict(set)
    gecko_of: dict[int, str] = {}
    for k in known:
        by_symbol[k.record.symbol.upper()].append(k)
        sources[k.asset_id].add(k.record.source)
        coin = group_of(k.record.key, aliases)
        if coin is not None:
            coins[k.asset_id].add(coin)
        if k.record.source == "coingecko":
            gecko_of[k.asset_id] = k.record.source_asset_id
    found = []
    for listings in by_symbol.values():
        profiles = {k.record.key: profile(k.record) for k in listings}
        best: dict[tuple[int, int], tuple[KnownRecord, KnownRecord, Comparison]] = {}
        for a, b in combinations(sorted(listings, key=lambda k: k.record.key), 2):
            assets = (min(a.asset_id, b.asset_id), max(a.asset_id, b.asset_id))
            if a.asset_id == b.asset_id or sources[a.asset_id] & sources[b.asset_id]:
                continue  # one asset already, or a merge would give one source two listings of a coin
            if len(coins[a.asset_id] | coins[b.asset_id]) > 1:
                continue  # the alias map says two coins
            first, second = profiles[a.record.key], profiles[b.record.key]
            if (first.markers ^ second.markers) & BRIDGE_WORDS:
                continue  # a bridged, wrapped or pegged copy is another listing, whatever else agrees
            comparison = compare(first, second)
            kept = best.get(assets)
            if kept is None or len(comparison.agreements) > len(kept[2].agreements):
                best[assets] = (a, b, comparison)
        for a, b, comparison in best.values():
            if comparison.agreements or (len(best) == 1 and not comparison.vetoes):
                found.append(
                    Candidate(a, b, comparison, _why_not(comparison, len(best)), _alias_lines(a, b, gecko_of))
                )
    return sorted(
        found, key=lambda c: (-len(c.comparison.agreements), len(c.comparison.vetoes), c.first.record.key)
    )


def _why_not(comparison: Comparison, pairs: int) -> str:
    if comparison.vetoes:
        return "vetoed: " + "; ".join(str(f) for f in comparison.vetoes)
    if not comparison.agreements:
        return "only the symbol agrees"
    if pairs > 1:
        return "ambiguous: other assets of this symbol may fit as well"
    return "the rules accept this pair now; they did not when the listings were first seen"


def _alias_lines(a: KnownRecord, b: KnownRecord, gecko_of: dict[int, str]) -> tuple[str, ...]:
    """`coingecko_id,source,source_asset_id` lines that put both listings in one group."""
    home = next((k.asset_id for k in (a, b) if k.asset_id in gecko_of), None)
    if home is None:  # neither asset has a CoinGecko listing: any shared id makes the group
        return tuple(
            f"{a.record.source_asset_id},{k.record.source},{k.record.source_asset_id}" for k in (a, b)
        )
    return tuple(
        f"{gecko_of[home]},{k.record.source},{k.record.source_asset_id}" for k in (a, b) if k.asset_id != home
    )
