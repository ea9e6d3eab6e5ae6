"""cryptoetl command-line ETL."""
