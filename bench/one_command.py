"""The smallest Typer app: one command, one option. Start-up is measured against its `--help`.

python bench/one_command.py --help            # Typer's defaults (rich help, when rich is installed)
TYPER_PEER_PLAIN=1 python bench/one_command.py --help    # plain help, as cryptoetl renders it
"""

import os

import typer

app = typer.Typer(rich_markup_mode=None) if os.environ.get("TYPER_PEER_PLAIN") else typer.Typer()


@app.command()
def hello(name: str = "world") -> None:
    """Say hello."""
    typer.echo(f"hello {name}")


if __name__ == "__main__":
    app()
