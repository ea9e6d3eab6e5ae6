"""Canonical identity: which existing asset, if any, a newly seen listing is, and why. Pure, deterministic.

1. Alias map: the listing is in a group (a CoinGecko id) and an asset already holds a member of that group.
2. Otherwise the rules weigh evidence (etl_cli.transform.evidence). A candidate is a linked listing of another
   source with the same symbol and at least one strong agreement: an id equal ignoring separators, names equal
   once the words that carry no identity are dropped, one name a whole-word prefix of the other, supplies
   within 3%. A candidate with any strong disagreement is set aside: a bridge, wrapper or peg marker (or a
   qualifying parenthesis) on one side only, prices more than 5% apart within the same hour, supplies ten
   times apart, or an alias group that says another coin. The listing joins the one candidate left, provided
   no other listing of its own source fits it as well (an id agreement beats a name); anything else leaves it
   on an asset of its own.
A CoinPaprika id whose prefix is not its symbol (`bttc-bittorrent-chain` for BTT) names another listing than
its name suggests: only an id agreement places it. Two ids of one source never share an asset unless the
alias map says so: precision beats recall, and a missed match is one alias line away.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from etl_cli.transform.evidence import Finding, Profile, compare, profile

Key = tuple[str, str]  # (source, source asset id)
AliasMap = Mapping[Key, str]  # member -> group (its CoinGecko id)
# The rules, strongest first; a link made by several agreements is named after the strongest.
RULES = ("alias", "id", "name", "prefix", "supply")
NEW = "new"  # no rule placed the listing: it made an asset of its own


def group_of(key: Key, aliases: AliasMap) -> str | None:
    """The coin the alias map says a listing is; a CoinGecko listing is, unless listed, the coin of its id."""
    group = aliases.get(key)
    if group is None and key[0] == "coingecko":
        return key[1]
    return group


@dataclass(frozen=True)
class SourceRecord:
    """A source's view of a coin: what identity resolution compares."""

    source: str
    source_asset_id: str
    symbol: str
    name: str | None
    price_usd: Decimal | None = None
    observed_at: datetime | None = None
    market_cap_rank: int | None = None
    circulating_supply: Decimal | None = None
    total_supply: Decimal | None = None
    max_supply: Decimal | None = None

    @cached_property
    def key(self) -> Key:
        """(source, source asset id)."""
        return self.source, self.source_asset_id


@dataclass(frozen=True)
class KnownRecord:
    """A source record already linked to a canonical asset."""

    asset_id: int
    record: SourceRecord

    @classmethod
    def from_row(cls, row: Any) -> KnownRecord:
        """From a row of etl_cli.schema.reads.listing_facts: the link and its newest snapshot's facts."""
        values = row._mapping
        fields = {name: values[name] for name in SourceRecord.__dataclass_fields__ if name in values}
        return cls(values["asset_id"], SourceRecord(**fields))


@dataclass(frozen=True)
class Decision:
    """Where a new listing goes and why: the rule that placed it (or `new`) and the evidence, a line each."""

    asset_id: int | None
    rule: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """One candidate asset weighed against a listing: the evidence from each of its listings, merged."""

    asset_id: int
    agreements: tuple[Finding, ...]
    vetoes: tuple[Finding, ...]

    @property
    def accepts(self) -> bool:
        """At least one strong agreement and no strong disagreement."""
        return bool(self.agreements) and not self.vetoes

    @property
    def rule(self) -> str:
        """The strongest agreement's kind."""
        kinds = {f.kind for f in self.agreements}
        return next(rule for rule in RULES if rule in kinds)


def resolve(
    new: Sequence[SourceRecord], known: Sequence[KnownRecord], aliases: AliasMap
) -> dict[Key, Decision]:
    """Decide, for each new listing, the asset it joins (None: an asset of its own) and why."""
    candidates = Candidates(new, known, aliases)
    decisions = {r.key: candidates.choose(r) for r in new}
    claims: dict[tuple[int, str], list[Key]] = defaultdict(list)
    for key, decision in decisions.items():
        if decision.asset_id is not None:
            claims[decision.asset_id, key[0]].append(key)
    for (asset_id, _), keys in claims.items():
        if len(keys) > 1:  # two new ids of one source never share an asset by the rules
            for key in keys:
                rivals = ", ".join(f"{s}:{i}" for s, i in keys if (s, i) != key)
                decisions[key] = Decision(
                    None, NEW, (f"ambiguous: {rivals} would join asset {asset_id} too",)
                )
    return decisions


class Candidates:
    """The known listings indexed by what the rules compare, so each new listing is placed quickly."""

    def __init__(self, new: Sequence[SourceRecord], known: Sequence[KnownRecord], aliases: AliasMap) -> None:
        self.aliases = aliases
        self.by_group: dict[str, list[KnownRecord]] = defaultdict(list)
        self.by_asset: dict[int, list[SourceRecord]] = defaultdict(list)
        self.by_symbol: dict[str, list[tuple[int | None, SourceRecord]]] = defaultdict(list)
        for k in known:
            group = group_of(k.record.key, aliases)
            if group is not None:
                self.by_group[group].append(k)
            self.by_asset[k.asset_id].append(k.record)
            self.by_symbol[k.record.symbol.upper()].append((k.asset_id, k.record))
        for r in new:
            self.by_symbol[r.symbol.upper()].append((None, r))
        self.fed = {(asset_id, r.source) for asset_id, records in self.by_asset.items() for r in records}
        self.profiles: dict[Key, Profile] = {}  # read when first compared: most listings never are

    def choose(self, record: SourceRecord) -> Decision:
        """Apply the alias map, then weigh the evidence against each candidate asset."""
        group = self.aliases.get(record.key)
        if group is not None:
            members = sorted(
                (k.asset_id, k.record.key) for k in self.by_group[group] if k.record.source != record.source
            )
            if members:
                asset_id, (source, source_asset_id) = members[0]
                return Decision(
                    asset_id, "alias", (f"alias: listed as {group}, as {source}:{source_asset_id}",)
                )
        verdicts = [self.weigh(record, asset_id) for asset_id in self._assets_sharing_symbol(record)]
        set_aside = [f"set aside asset {v.asset_id}: {f}" for v in verdicts if v.agreements for f in v.vetoes]
        accepted = [v for v in verdicts if v.accepts]
        if len(accepted) != 1:
            many = [f"ambiguous: assets {', '.join(str(v.asset_id) for v in accepted)} all fit"]
            return Decision(None, NEW, tuple(set_aside + (many if accepted else [])))
        chosen = accepted[0]
        rivals = self._rivals(record, chosen)
        if rivals:
            return Decision(
                None, NEW, (f"ambiguous: {', '.join(rivals)} would join asset {chosen.asset_id} too",)
            )
        return Decision(
            chosen.asset_id, chosen.rule, tuple(str(f) for f in chosen.agreements) + tuple(set_aside)
        )

    def weigh(self, record: SourceRecord, asset_id: int) -> Verdict:
        """The evidence that `record` is, and is not, the coin of `asset_id`."""
        mine = self.profile(record)
        records = self.by_asset[asset_id]
        if len(records) == 1:
            agreements, vetoes = compare(mine, self.profile(records[0]))
        else:
            comparisons = [compare(mine, self.profile(r)) for r in records]
            agreements = tuple(dict.fromkeys(f for c in comparisons for f in c.agreements))
            vetoes = tuple(dict.fromkeys(f for c in comparisons for f in c.vetoes))
        return Verdict(asset_id, agreements, vetoes + self._alias_veto(record, asset_id))

    def profile(self, record: SourceRecord) -> Profile:
        """The listing's identity facts, read once."""
        key = record.key
        found = self.profiles.get(key)
        if found is None:
            found = self.profiles[key] = profile(record)
        return found

    def _assets_sharing_symbol(self, record: SourceRecord) -> list[int]:
        """Assets with a listing of this symbol from another source, not yet fed by this one."""
        return sorted(
            {
                asset_id
                for asset_id, r in self.by_symbol[record.symbol.upper()]
                if asset_id is not None
                and r.source != record.source
                and (asset_id, record.source) not in self.fed
            }
        )

    def _rivals(self, record: SourceRecord, chosen: Verdict) -> list[str]:
        """Other listings of the same source and symbol that fit the asset as well (an id beats a name)."""
        rivals = []
        for _, r in self.by_symbol[record.symbol.upper()]:
            if r.source != record.source or r.key == record.key:
                continue
            theirs = self.weigh(r, chosen.asset_id)
            if theirs.accepts and RULES.index(theirs.rule) <= RULES.index(chosen.rule):
                rivals.append(f"{r.source}:{r.source_asset_id}")
        return rivals

    def _alias_veto(self, record: SourceRecord, asset_id: int) -> tuple[Finding, ...]:
        group = group_of(record.key, self.aliases)
        if group is None or not self.aliases:  # without aliases only CoinGecko listings have a group
            return ()
        groups = (group_of(r.key, self.aliases) for r in self.by_asset[asset_id])
        others = sorted({g for g in groups if g is not None and g != group})
        if not others:
            return ()
        return (Finding("alias", "the alias map makes this {}, the asset {}", (group, ", ".join(others))),)
