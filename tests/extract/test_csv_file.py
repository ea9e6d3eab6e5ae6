import hashlib
import shutil

import pytest

import etl_cli.extract.csv_file as csv_file_module
from etl_cli.errors import ConfigError
from etl_cli.extract.base import LongLine
from etl_cli.extract.csv_file import CsvExtractor
from etl_cli.transform.csv_rows import normalize_csv
from tests.samples import CSV_DIR

TETHER = CSV_DIR / "coin_Tether_kaggle_head200.csv"
GENERIC_HEADER = b"symbol,name,price_usd,market_cap_usd,volume_24h_usd,observed_at\n"


@pytest.fixture
def tether(tmp_path):
    path = tmp_path / "coin_Tether.csv"
    shutil.copy(TETHER, path)
    return path


def csv_file(folder, content: bytes):
    path = folder / "g.csv"
    path.write_bytes(content)
    return path


def rows(pages) -> int:
    return sum(len(normalize_csv(page).snapshots) for page in pages)


def test_a_file_streams_in_chunks_that_each_carry_the_progress(tether):
    pages = list(CsvExtractor(tether, chunk_rows=64).pages())
    assert [p.first_line for p in pages] == [2, 66, 130, 194]
    assert {p.url for p in pages} == {tether.resolve().as_uri()}
    assert all(p.body.startswith(b"SNo,Name,Symbol,Date,") for p in pages)
    assert rows(pages) == 200
    final = pages[-1].state["files"][str(tether.resolve())]
    assert final["offset"] == tether.stat().st_size and final["line"] == 202


def test_an_unchanged_file_yields_nothing(tether):
    pages = list(CsvExtractor(tether).pages())
    assert list(CsvExtractor(tether).pages(pages[-1].state)) == []


def test_a_grown_file_yields_only_its_new_lines(tether):
    state = list(CsvExtractor(tether).pages())[-1].state
    with tether.open("ab") as handle:
        handle.write(b"201,Tether,USDT,2015-09-14 23:59:59,1.0,1.0,1.0,1.0123,1.0,1.0\n")
    [page] = CsvExtractor(tether).pages(state)
    [snapshot] = normalize_csv(page).snapshots
    assert str(snapshot.price_usd) == "1.0123"
    assert page.first_line == 202


def test_a_rewritten_file_is_read_again_from_the_start(tether):
    state = list(CsvExtractor(tether).pages())[-1].state
    tether.write_bytes(tether.read_bytes().replace(b"1.205739974975586", b"1.205739974975587"))
    assert rows(CsvExtractor(tether).pages(state)) == 200


def test_resuming_after_a_committed_chunk(tether):
    first, *_ = CsvExtractor(tether, chunk_rows=50).pages()
    rest = list(CsvExtractor(tether, chunk_rows=50).pages(first.state))
    assert rows(rest) == 150
    assert rest[0].first_line == 52


def test_a_folder_reads_its_csv_files_in_name_order():
    names = [p.name for p in CsvExtractor(CSV_DIR).files]
    assert names == sorted(names) and len(names) == 4


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"date,open,close\n2020-01-01,1,2\n", "unknown CSV header 'date,open,close'; accepted: SNo,Name"),
        (b"", "unknown CSV header ''"),
        (b"\xff\xfe\x00b\x00a\x00d", "not a UTF-8 CSV file"),
    ],
)
def test_an_unknown_header_is_refused_before_anything_is_read(tmp_path, content, message):
    shutil.copy(TETHER, tmp_path / "a_good.csv")
    (tmp_path / "b_bad.csv").write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        CsvExtractor(tmp_path)


def test_a_folder_without_csv_files_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"has no \.csv files"):
        CsvExtractor(tmp_path)


def test_a_last_line_without_a_line_ending_waits_until_it_is_complete(tmp_path):
    # A writer may still be appending: "12" of "12345.67" must never load as a price.
    data = csv_file(
        tmp_path,
        b"symbol,name,market_cap_usd,volume_24h_usd,observed_at,price_usd\n"
        b"AAA,Alpha,2,3,2025-01-01,100\nBBB,Beta,5,6,2025-01-02,12",
    )
    [first] = CsvExtractor(data).pages()
    assert [str(s.price_usd) for s in normalize_csv(first).snapshots] == ["100"]
    with data.open("ab") as handle:
        handle.write(b"345.67\n")
    [second] = CsvExtractor(data).pages(first.state)
    [snapshot] = normalize_csv(second).snapshots
    assert (snapshot.symbol, str(snapshot.price_usd)) == ("BBB", "12345.67")
    assert second.first_line == 3


def test_a_bad_byte_near_the_top_rejects_its_row_as_anywhere_else(tmp_path):
    # The header check once decoded the file's first 8 KB: a bad byte there refused the whole file.
    data = csv_file(tmp_path, GENERIC_HEADER + b"CAF,Caf\xe9,1,,,2025-01-01\nBTC,Bitcoin,2,,,2025-01-01\n")
    [chunk] = CsvExtractor(data).pages()
    result = normalize_csv(chunk)
    assert [s.symbol for s in result.snapshots] == ["BTC"]
    assert [r.reason for r in result.rejects] == ["g.csv line 2: not UTF-8 (byte 7 of the line)"]


def resume_state(path, offset: int, line: int) -> dict:
    """The progress of a file read up to `offset`, computed straight from its bytes."""
    sha = hashlib.sha256(path.read_bytes()[:offset]).hexdigest()
    return {"offset": offset, "line": line, "sha256": sha}


def long_line_file(tmp_path):
    rows = [b"AAA,Alpha,1,,,2025-01-01\n", b"LNG," + b"x" * 300 + b",1,,,2025-01-01\n"]
    rows += [b"BBB,Beta,2,,,2025-01-01\n", b"CCC,Gamma,3,,,2025-01-01\n"]
    return csv_file(tmp_path, GENERIC_HEADER + b"".join(rows)), rows


def test_a_line_over_the_limit_is_skipped_unread_and_rejected_with_its_first_bytes(tmp_path):
    data, rows = long_line_file(tmp_path)
    [chunk] = CsvExtractor(data, max_line_bytes=250).pages()
    assert chunk.body == GENERIC_HEADER + rows[0] + rows[2] + rows[3]
    assert chunk.long_lines == (LongLine(3, len(rows[1]), rows[1][:200]),)
    assert chunk.state["files"][str(data.resolve())] == resume_state(data, data.stat().st_size, 6)
    result = normalize_csv(chunk)
    assert [s.symbol for s in result.snapshots] == ["AAA", "BBB", "CCC"]
    [reject] = result.rejects
    assert reject.reason == (
        "g.csv line 3: 320 bytes, over the line limit (CRYPTOETL_CSV_MAX_LINE_BYTES); "
        "only its first 200 bytes are kept"
    )
    assert reject.fragment == rows[1][:200].decode()


def test_resuming_after_a_chunk_that_ended_with_a_long_line(tmp_path):
    data, rows = long_line_file(tmp_path)
    first, second = CsvExtractor(data, chunk_rows=2, max_line_bytes=250).pages()
    offset = len(GENERIC_HEADER) + len(rows[0]) + len(rows[1])
    assert first.state["files"][str(data.resolve())] == resume_state(data, offset, 4)
    [resumed] = CsvExtractor(data, chunk_rows=2, max_line_bytes=250).pages(first.state)
    assert (resumed.body, resumed.first_line, resumed.long_lines) == (second.body, 4, ())
    assert [s.symbol for s in normalize_csv(resumed).snapshots] == ["BBB", "CCC"]
    assert list(CsvExtractor(data, max_line_bytes=250).pages(second.state)) == []


def test_a_long_last_line_without_a_line_ending_waits_like_any_other(tmp_path):
    data = csv_file(tmp_path, GENERIC_HEADER + b"AAA,Alpha,1,,,2025-01-01\nLNG," + b"x" * 300)
    [first] = CsvExtractor(data, max_line_bytes=250).pages()
    assert first.long_lines == () and first.state["files"][str(data.resolve())]["line"] == 3
    with data.open("ab") as handle:
        handle.write(b",1,,,2025-01-01\n")
    [second] = CsvExtractor(data, max_line_bytes=250).pages(first.state)
    assert [(line.number, line.size) for line in second.long_lines] == [(3, 320)]


def test_chunks_also_end_at_a_size_so_memory_follows_the_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_file_module, "CHUNK_BYTES", 60)
    data, _ = long_line_file(tmp_path)
    chunks = list(CsvExtractor(data, max_line_bytes=2500).pages())
    assert [chunk.first_line for chunk in chunks] == [2, 4]  # 26 + 320 bytes, then 25 + 25
    assert rows(chunks) == 3  # LNG is rejected: its name is too long


def test_a_header_over_the_limit_refuses_the_file(tmp_path):
    data = csv_file(tmp_path, GENERIC_HEADER + b"AAA,Alpha,1,,,2025-01-01\n")
    with pytest.raises(ConfigError, match=r"g\.csv: the header line is longer than 20 bytes"):
        CsvExtractor(data, max_line_bytes=20)
