"""Start-up: `cryptoetl --help` against a one-command Typer app's `--help`, on the same interpreter.

Each command runs `runs` times, the commands taking turns so that a change in the machine's load falls on
all of them alike; the median of each is reported.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PEER = Path(__file__).with_name("one_command.py")


def cryptoetl() -> list[str]:
    """The installed `cryptoetl` script next to this interpreter, else `python -m etl_cli`."""
    script = Path(sys.executable).with_name("cryptoetl")
    return [str(script)] if script.exists() else [sys.executable, "-m", "etl_cli"]


def commands() -> dict[str, tuple[list[str], dict[str, str]]]:
    """What to time, by name: the command and the environment it adds."""
    return {
        "cryptoetl --help": ([*cryptoetl(), "--help"], {}),
        "one-command Typer app --help": ([sys.executable, str(PEER), "--help"], {}),
        "the same app, plain help": ([sys.executable, str(PEER), "--help"], {"TYPER_PEER_PLAIN": "1"}),
    }


def median_seconds(runs: int = 15) -> dict[str, float]:
    """Each command's median wall time over `runs` runs, taking turns."""
    timings: dict[str, list[float]] = {name: [] for name in commands()}
    for _ in range(runs):
        for name, (argv, env) in commands().items():
            started = time.perf_counter()
            subprocess.run(argv, env={**os.environ, **env}, stdout=subprocess.DEVNULL, check=True, timeout=60)
            timings[name].append(time.perf_counter() - started)
    return {name: statistics.median(times) for name, times in timings.items()}


def main() -> None:
    for name, seconds in median_seconds().items():
        print(f"{name:<32} {seconds * 1000:>6.0f} ms")


if __name__ == "__main__":
    main()
