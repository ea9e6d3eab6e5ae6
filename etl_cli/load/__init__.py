"""Load: engines, the Core tables of sql/, set-based writes, the ledger and run locks."""
