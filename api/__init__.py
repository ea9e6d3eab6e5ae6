"""Read-only HTTP API over the cryptoetl database."""
