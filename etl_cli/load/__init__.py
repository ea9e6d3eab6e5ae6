"""Load: engines, set-based writes, the ledger and run locks."""
