"""The writer/reader contract: Core tables, exact types, migrations and the read queries both sides share.

Importing this package costs nothing: the modules below it load what they need when imported.
"""

# Every value a `source` column takes. The ETL has one extractor per name (a test keeps them in step); the
# API accepts exactly these in its `source` parameters.
SOURCES = ("coingecko", "coinpaprika", "csv")
