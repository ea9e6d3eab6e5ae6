"""`python -m etl_cli` runs the command line."""

from etl_cli.cli import main

main()
