"""Backfill: fill a source's past, planned before any call, resumable, in the ledger as kind `backfill`."""
