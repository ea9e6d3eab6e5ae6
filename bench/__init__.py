"""Benchmarks of issue 12, run together by `python -m bench` (see __main__.py)."""
