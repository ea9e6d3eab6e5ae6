"""Progress: the pipeline tells an observer of each page; `cryptoetl run` shows it live on a terminal only."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

from rich.console import Console

from etl_cli.cli.progress import LiveProgress
from etl_cli.extract.csv_file import CsvExtractor
from etl_cli.pipeline import run_named, run_source
from etl_cli.progress import FilePosition, PageDone
from etl_cli.transform import TRANSFORMS
from tests.samples import CSV_DIR, REPLAY_DIR, ROOT

TETHER = CSV_DIR / "coin_Tether_kaggle_head200.csv"


class Recorder:
    def __init__(self) -> None:
        self.started: list[tuple[str, int]] = []
        self.pages: list[PageDone] = []

    def run_started(self, source: str, run_id: int) -> None:
        self.started.append((source, run_id))

    def page_done(self, progress: PageDone) -> None:
        self.pages.append(progress)


def test_a_csv_run_tells_each_committed_chunk_with_its_place_in_the_file(engine):
    seen = Recorder()
    extractor = CsvExtractor(TETHER, chunk_rows=50)
    record = run_source(engine, extractor, TRANSFORMS["csv"], aliases={}, observer=seen)
    size = TETHER.stat().st_size
    assert seen.started == [("csv", record.run_id)]
    assert [(p.pages, p.records, p.loaded) for p in seen.pages] == [
        (1, 50, 50),
        (2, 100, 100),
        (3, 150, 150),
        (4, 200, 200),
    ]
    positions = [p.position for p in seen.pages]
    assert all(isinstance(p, FilePosition) and p.name == TETHER.name and p.size == size for p in positions)
    assert [p.done for p in positions] == sorted({p.done for p in positions}) and positions[-1].done == size


def test_an_api_run_tells_each_page_before_its_one_commit(engine, settings):
    seen = Recorder()
    record = run_named(settings, "coingecko", replay_dir=REPLAY_DIR, engine=engine, observer=seen)
    assert [(p.source, p.run_id, p.pages, p.records, p.loaded, p.position) for p in seen.pages] == [
        ("coingecko", record.run_id, 1, 250, 0, None),
        ("coingecko", record.run_id, 2, 250, 0, None),  # the short page 2 ends the listing
    ]


def run_cli(tmp_path, *args: str, terminal: bool) -> tuple[int, str]:
    """Run cryptoetl with stderr on a pseudo-terminal (or a pipe); return its exit code and stderr."""
    env = {**os.environ, "CRYPTOETL_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    command = [sys.executable, "-m", "etl_cli", *args]
    if not terminal:
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        return done.returncode, done.stderr
    leader, follower = pty.openpty()
    child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return child.wait(timeout=120), shown.decode()


def test_run_shows_live_progress_on_a_terminal(tmp_path):
    code, shown = run_cli(tmp_path, "run", "--source", "csv", "--path", str(CSV_DIR), terminal=True)
    assert code == 0
    assert "coin_Tether_kaggle_h" in shown and "100%" in shown and "900 rows" in shown and "/s" in shown


def test_no_progress_when_stderr_is_not_a_terminal_or_with_json(tmp_path):
    code, stderr = run_cli(tmp_path, "run", "--source", "csv", "--path", str(CSV_DIR), terminal=False)
    assert (code, stderr) == (0, "")
    code, shown = run_cli(
        tmp_path, "run", "--source", "coingecko", "--replay", str(REPLAY_DIR), "--json", terminal=True
    )
    assert (code, shown) == (0, "")


def test_the_display_shows_a_percentage_when_the_pages_are_known_and_the_file_otherwise():
    display = LiveProgress(Console(file=io.StringIO(), force_terminal=True, width=100))
    display.run_started("coingecko", 7)
    display.page_done(PageDone("coingecko", 7, pages=1, records=250, loaded=0))
    (task,) = display.display.tasks
    assert (task.description, task.total, task.fields["rows"]) == ("page 1", None, 250)
    display.page_done(PageDone("coingecko", 7, pages=2, records=500, loaded=250, pages_planned=8))
    assert (task.description, task.percentage) == ("page 2 of 8", 25.0)
    display.run_started("csv", 8)
    display.page_done(PageDone("csv", 8, 1, 50, 50, FilePosition("a.csv", done=300, size=1200)))
    csv_task = display.display.tasks[1]
    assert (csv_task.description, csv_task.percentage, csv_task.fields["source"]) == ("a.csv", 25.0, "csv")
