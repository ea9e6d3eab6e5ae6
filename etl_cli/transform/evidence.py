"""Evidence that two listings of one symbol are, or are not, one coin. Pure, deterministic.

A listing's identity facts are read once into a `Profile`: its labels (the name with the words that carry no
identity dropped, a former name in parentheses, the id read as words), its ids, its markers (words that say
it is a bridged, wrapped, pegged or otherwise qualified copy of a coin) and its supplies. `compare` turns two
profiles into agreements and disagreements, each with a line a person can read.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from etl_cli.transform.csv_rows import csv_asset_id

if TYPE_CHECKING:
    from etl_cli.transform.identity import SourceRecord

# Words that say what kind of thing a coin is, not which coin it is: `Flare Network` is `Flare`.
GENERIC_WORDS = frozenset({"the", "token", "network", "protocol", "coin", "finance", "dao"})
# Words that mark a bridged, wrapped or pegged copy of a coin, in a name or added at the end of an id
# (`usd-coin-wormhole`, `btcb-bitcoin-bep2`). A chain is a marker only in a parenthesis (`HEX (Pulsechain)`):
# both providers end ids with a coin's home chain to tell namesakes apart (`jupiter-exchange-solana`,
# `beam-beam-eth`), and a coin may be named after its own chain (`Polygon`, `Avalanche`).
BRIDGE_WORDS = frozenset(
    {
        "bridged",
        "bridge",
        "wrapped",
        "peg",
        "pegged",
        "wormhole",
        "portal",
        "pos",
        "bep2",
        "bep20",
        "erc20",
        "trc20",
        "spl",
        "bsc",
        "multichain",
        "anyswap",
        "celer",
        "allbridge",
        "axelar",
        "stargate",
    }
)
# A parenthesis that gives a former name (`POL (ex-MATIC)`, `Sonic (prev. FTM)`); any other parenthesis but
# the ticker qualifies the listing (`USD Coin (Wormhole)`, `HEX (Pulsechain)`, `Synapse (OLD)`).
FORMER_NAME = re.compile(r"^(?:ex|prev|previously|formerly|former|was|renamed from)\b[\s.:-]*(?P<name>.+)$")
PARENTHESIS = re.compile(r"\(([^)]*)\)")
WORD = re.compile(r"[a-z0-9]+")
NUMBERS = re.compile(r"\b[0-9]+\b")  # `avalanche-2` is avalanche
SUPPLY_AGREES = Decimal("0.03")  # supplies within 3% of each other
SUPPLY_VETO = Decimal(10)  # supplies ten times apart or more: an order of magnitude
PRICE_VETO = Decimal("0.05")  # prices more than 5% apart ...
SAME_HOUR = timedelta(hours=1)  # ... when observed within the same hour
SUPPLIES = ("circulating_supply", "total_supply", "max_supply")


Labels = dict[str, tuple[str, "str | None"]]  # label -> (where it comes from, as a template, and its value)


class Finding(NamedTuple):
    """One piece of evidence: its kind (`id`, `name`, `prefix`, `supply`, `marker`, `price`) and a reason.

    The reason is written when read (a template and its values): most findings of a load never are.
    """

    kind: str
    template: str
    values: tuple[object, ...] = ()

    @property
    def detail(self) -> str:
        """The reason, in words."""
        return self.template.format(*self.values)

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


class Comparison(NamedTuple):
    """What two listings agree and disagree on."""

    agreements: tuple[Finding, ...]
    vetoes: tuple[Finding, ...]


class Profile(NamedTuple):
    """A listing's identity facts, read once (a tuple: thousands are read per load)."""

    record: SourceRecord
    labels: Labels  # normalized names: the name, a former name, the id read as words
    joined: str  # the name's words run together: `Binance Coin` is the id binancecoin
    ids: frozenset[str]  # the ids this listing goes by, separators removed
    markers: frozenset[str]
    names_count: bool  # False for a CoinPaprika id whose prefix is not the symbol: only its id can place it
    supplies: dict[str, Decimal]  # the supplies it knows (CoinPaprika writes 0 for unknown)

    @property
    def label(self) -> str:
        """How to name this listing in evidence: `coinpaprika:btc-bitcoin`."""
        return f"{self.record.source}:{self.record.source_asset_id}"


def profile(record: SourceRecord) -> Profile:
    """Read a listing's identity facts."""
    symbol = record.symbol.lower()
    identifier = record.source_asset_id.lower()
    head, _, rest = identifier.partition("-")
    csv_prefixed = record.source == "csv" and head == symbol
    slug = rest if rest and (record.source == "coinpaprika" or csv_prefixed) else identifier
    labels, markers, main = _read_name(record.name, symbol)
    slug_words = WORD.findall(slug)
    if slug_words and (slug_words[-1] in BRIDGE_WORDS or slug_words[-1].isdigit()):
        markers.update(_added_markers(slug_words, labels))
    _add_label(labels, WORD.findall(NUMBERS.sub(" ", slug)), record.source_asset_id, "id {}")
    if record.source == "csv" and record.source_asset_id == csv_asset_id(record.symbol, record.name):
        ids = frozenset()  # made from the name by cryptoetl: the name is the evidence, not an id
    else:
        ids = frozenset({"".join(WORD.findall(identifier)), "".join(slug_words)} - {""})
    names_count = record.source != "coinpaprika" or head == symbol
    supplies = {field: value for field in SUPPLIES if (value := getattr(record, field)) and value > 0}
    return Profile(record, labels, "".join(main), ids, frozenset(markers), names_count, supplies)


def _read_name(name: str | None, symbol: str) -> tuple[Labels, set[str], list[str]]:
    """A name's labels (itself, a former name in parentheses), its markers, and its words."""
    text = fold(name)
    labels: Labels = {}
    if "(" not in text:
        main = WORD.findall(text)
        _add_label(labels, main, name, "name {!r}")
        return labels, set(BRIDGE_WORDS.intersection(main)), main
    main = WORD.findall(PARENTHESIS.sub(" ", text))
    _add_label(labels, main, name, "name {!r}")
    markers = set(BRIDGE_WORDS.intersection(main))
    for inner in PARENTHESIS.findall(text):
        former = FORMER_NAME.match(inner.strip())
        words = WORD.findall(former["name"] if former else inner)
        if former:
            _add_label(labels, words, former["name"], "former name {!r}")
        elif words != WORD.findall(symbol):
            markers.update(w for w in words if w not in GENERIC_WORDS)
    return labels, markers, main


def _add_label(labels: Labels, words: list[str], said: str | None, origin: str) -> None:
    """Add the words, less those that carry no identity, as a label; the first origin of a label stays."""
    label = " ".join(
        words if GENERIC_WORDS.isdisjoint(words) else [w for w in words if w not in GENERIC_WORDS]
    )
    if label and label not in labels:
        labels[label] = (origin, said)


def compare(a: Profile, b: Profile) -> Comparison:
    """The evidence that two listings of one symbol are one coin, and the evidence that they are not."""
    names_count = a.names_count and b.names_count
    supply_agrees, supply_vetoes = _supplies(a, b, names_count)
    vetoes = _marker_veto(a, b) + _price_veto(a.record, b.record) + supply_vetoes
    agreements = _id_agreement(a, b)
    if names_count:
        agreements += _name_agreement(a, b) + supply_agrees
    return Comparison(tuple(agreements), tuple(vetoes))


def fold(text: str | None) -> str:
    """Lower-case ASCII: `Ondo Finance` -> `ondo finance`, `Pokémon` -> `pokemon`."""
    if not text:
        return ""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _added_markers(slug_words: list[str], labels: Labels) -> set[str]:
    """Bridge words that an id adds at its end to what the name says (`usd-coin-wormhole`)."""
    added: set[str] = set()
    for word in reversed(slug_words):
        if word.isdigit():
            continue
        if word not in BRIDGE_WORDS or any(word in label.split() for label in labels):
            break
        added.add(word)
    return added


def _marker_veto(a: Profile, b: Profile) -> list[Finding]:
    if a.markers == b.markers:
        return []
    only = [(p, sorted(p.markers - q.markers)) for p, q in ((a, b), (b, a)) if p.markers - q.markers]
    said = "; ".join(f"{' '.join(words)} on {p.label} only" for p, words in only)
    return [Finding("marker", "a different listing: {}", (said,))]


def _id_agreement(a: Profile, b: Profile) -> list[Finding]:
    same = sorted(a.ids & b.ids)
    if not same or (a.record.source == "csv" and b.record.source == "csv"):
        return []
    return [Finding("id", "{} and {} share the id {} (separators ignored)", (a.label, b.label, same[0]))]


def _name_agreement(a: Profile, b: Profile) -> list[Finding]:
    same = sorted(a.labels.keys() & b.labels.keys())
    if same:
        label = same[0]
        return [Finding("name", "{} and {} both read {!r}", (_said(a, label), _said(b, label), label))]
    for named, other in ((a, b), (b, a)):
        if named.joined in other.ids:
            said = (named.record.name, named.label, named.joined, other.label)
            return [Finding("name", "name {!r} of {} run together is the id {} of {}", said)]
    for short, long in ((a, b), (b, a)):
        begun = sorted(short.labels.keys() & _starts(long.labels))
        if begun:
            start = begun[0]
            whole = min(label for label in long.labels if label.startswith(start + " "))
            said = (_said(short, start), _said(long, whole), start, whole)
            return [Finding("prefix", "{} begins {} ({!r} of {!r})", said)]
    return []


def _starts(labels: Labels) -> set[str]:
    """The labels' whole-word beginnings of 3 characters or more: `shiba` of `shiba inu`."""
    words = [label.split() for label in labels]
    return {start for w in words for n in range(1, len(w)) if len(start := " ".join(w[:n])) >= 3}


def _said(p: Profile, label: str) -> str:
    origin, said = p.labels[label]
    return f"{origin.format(said)} of {p.label}"


def _supplies(a: Profile, b: Profile, may_agree: bool) -> tuple[list[Finding], list[Finding]]:
    """Supplies within 3% agree (unless round); ten times apart or more, they veto."""
    agrees: list[Finding] = []
    for field in SUPPLIES:
        x, y = a.supplies.get(field), b.supplies.get(field)
        if x is None or y is None:
            continue
        low, high = (x, y) if x < y else (y, x)
        said = field.replace("_", " ")
        if high >= low * SUPPLY_VETO:
            return [], [Finding("supply", "{} {:,.0f} and {:,.0f}: {:,.0f}x apart", (said, x, y, high / low))]
        if may_agree and not agrees and high - low <= high * SUPPLY_AGREES and not (_round(x) or _round(y)):
            agrees.append(Finding("supply", "{} {:,.0f} and {:,.0f} within 3%", (said, x, y)))
    return agrees, []


def _round(value: Decimal) -> bool:
    """Three significant digits or fewer: many coins choose a round supply (1,000,000,000; 21,000,000)."""
    return len(value.normalize().as_tuple().digits) <= 3


def _price_veto(a: SourceRecord, b: SourceRecord) -> list[Finding]:
    if a.price_usd is None or b.price_usd is None or a.observed_at is None or b.observed_at is None:
        return []
    if abs(a.observed_at - b.observed_at) >= SAME_HOUR:
        return []
    low, high = sorted((a.price_usd, b.price_usd))
    if low > 0 and (high - low) / low <= PRICE_VETO:
        return []
    return [Finding("price", "{} and {} USD within the hour: more than 5% apart", (a.price_usd, b.price_usd))]
