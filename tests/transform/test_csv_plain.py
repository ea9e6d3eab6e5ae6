"""The plain-row reader against the schema of record: the same random lines, valid and invalid, must give the
same snapshots (digit for digit, the same aware times) and the same rejects through both paths."""

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl_cli.extract.base import CsvChunk
from etl_cli.extract.csv_layout import HISTORICAL_HEADER, parse_header
from etl_cli.transform.csv_rows import _plain_reader, normalize_csv
from etl_cli.transform.records import Normalized

GENERIC_HEADERS = (
    "symbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at",
    "observed_at,Price_USD,symbol,name,volume_24h_usd,market_cap_usd,source_asset_id",
)
ODD_AMOUNTS = (
    "1",
    "0",
    "-0",
    "-1",
    "007",
    "1.",
    ".5",
    "  1",
    "1 ",
    "1E+5",
    "2.14E+11",
    "1e-5",
    "1e-16383",
    "1e-16384",
    "1e-999999",
    "1e999999",
    "9" * 30,
    "1" + "0" * 30,
    "1" + "0" * 31,
    "9" * 31,
    "0." + "0" * 99 + "1",
    "0." + "0" * 100 + "1",
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-inf",
    "1_000",
    "١٢",
    "0x10",
    "",
    " ",
    "1,5",
    '"1"',
    "12345678901234.5678",
)
ODD_TIMES = (
    "2024-01-01",
    "2024-01-01T00:00:00",
    "2024-01-01T00:00:00Z",
    "2024-01-01 13:45:00+02:00",
    "2024-01-01T13:45:00.123456-05:30",
    "2024-02-30",
    "2024-13-01T00:00:00",
    " 2024-01-01 ",
    "2024-01-01T25:00:00",
    "20240101",
    "2024-01-01T00",
    "yesterday",
    "",
    "2024-01-01T00:00:00+24:00",
)
ODD_TEXT = (
    "",
    " ",
    "Bitcoin",
    "bitcoin cash",
    "  padded ",
    "Ethé",
    "日本円",
    "ß",
    "a\\b",
    "x" * 121,
    "\ufeffBOM",
)
ODD_SYMBOLS = ("BTC", "btc", "ß", " eth", "A" * 64, "a" * 65, "", "X.Y", "ǆ", "$", "b-tc", "ﬃ")

valid_amounts = st.one_of(
    st.from_regex(r"[0-9]{1,32}(\.[0-9]{0,3})?", fullmatch=True),
    st.decimals(min_value=0, max_value=10**30, allow_nan=False, places=None).map(str),
)
valid_times = st.builds(
    datetime.isoformat,
    st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1), timezones=st.sampled_from([None, UTC])),
    sep=st.sampled_from("T "),
)
valid_texts = st.text(
    st.characters(exclude_characters='",\r\n\\\x00', exclude_categories=["Cs"]), max_size=12
)
valid_symbols = st.from_regex(r"[A-Za-z0-9$.-]{1,8}", fullmatch=True)
VALID = {"symbol": valid_symbols, "observed_at": valid_times, "amount": valid_amounts, "text": valid_texts}
ODD = {
    "symbol": st.sampled_from(ODD_SYMBOLS) | st.text(min_size=1, max_size=4),
    "observed_at": st.sampled_from(ODD_TIMES),
    "amount": st.sampled_from(ODD_AMOUNTS) | st.decimals(places=None).map(str) | st.text(max_size=4),
    "text": st.sampled_from(ODD_TEXT) | st.text(max_size=8),
}
KINDS = {"Symbol": "symbol", "symbol": "symbol", "Date": "observed_at", "observed_at": "observed_at"}
KINDS |= {"name": "text", "Name": "text", "source_asset_id": "text"}


@st.composite
def lines(draw: st.DrawFn, columns: tuple[str, ...]) -> bytes:
    """A plain line, maybe damaged: odd fields, quotes, a field too many or few, a byte that is not UTF-8."""
    kinds = [KINDS.get(column, "amount") for column in columns]
    fields = [draw(VALID[kind]) for kind in kinds]
    damages = draw(
        st.lists(st.sampled_from(["odd", "odd", "quote", "drop", "add", "add", "byte"]), max_size=2)
    )
    for damage in damages:
        at = draw(st.integers(0, len(fields) - 1))
        if damage == "odd":
            fields[at] = draw(ODD[kinds[at]])
        elif damage == "quote":
            fields[at] = f'"{fields[at]}"'
        elif damage == "drop" and len(fields) > 1:
            fields.pop(at)
            kinds.pop(at)
        elif damage == "add":
            fields.insert(at, draw(VALID[kinds[at]] | ODD[kinds[at]]))
            kinds.insert(at, kinds[at])
    line = ",".join(fields).encode()
    return line + b"\xe9" if "byte" in damages else line


@st.composite
def files(draw: st.DrawFn) -> bytes:
    header = draw(st.sampled_from([",".join(HISTORICAL_HEADER), *GENERIC_HEADERS]))
    body = draw(st.lists(lines(parse_header(header.encode()).columns), min_size=1, max_size=12))
    return b"\n".join([header.encode(), *body, b""])


def both_paths(data: bytes) -> tuple[Normalized, Normalized]:
    layout = parse_header(data.split(b"\n", 1)[0])
    file = Path("/data/random.csv")
    chunk = CsvChunk(
        "csv", file.as_uri(), None, datetime.now(UTC), data, file=file, first_line=2, layout=layout
    )
    return normalize_csv(chunk), normalize_csv(chunk, plain=False)


def exact(result: Normalized) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """Every value as its repr: Decimal('1.0') is not Decimal('1'), and a time keeps its zone."""
    snapshots = [tuple(map(repr, vars(snapshot).values())) for snapshot in result.snapshots]
    rejects = [tuple(map(repr, vars(reject).values())) for reject in result.rejects]
    return snapshots, rejects


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files())
def test_plain_rows_read_as_the_schema_reads_them(data):
    fast, reference = both_paths(data)
    assert exact(fast) == exact(reference)


def test_plain_rows_skip_the_schema_and_the_rest_do_not():
    layout = parse_header(GENERIC_HEADERS[0].encode())
    read = _plain_reader(layout)
    plain = read("csv", "btc,Bitcoin,43000.123456789012345,843000000000,,2024-01-01T00:00:00Z")
    assert plain is not None and (plain.symbol, plain.source_asset_id) == ("BTC", "btc-bitcoin")
    assert str(plain.price_usd) == "43000.123456789012345" and plain.volume_24h_usd is None
    for line in (
        "btc,Bitcoin,1E+5,,,2024-01-01",
        "btc,Bitcoin,1,,,2024-02-30",
        'btc,"Bitcoin",1,,,2024-01-01',
    ):
        assert read("csv", line) is None
