"""Column types that round-trip exactly on both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class ExactDecimal(TypeDecorator[Decimal]):
    """NUMERIC on PostgreSQL; on SQLite, which has no exact decimal, the digits as TEXT."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Pick the storage type per database."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        """Refuse floats; write SQLite values in positional notation (as PostgreSQL prints them)."""
        if value is None:
            return None
        if not isinstance(value, Decimal):
            msg = f"exact columns take Decimal, not {type(value).__name__}"
            raise TypeError(msg)
        if value.is_zero():
            value = value.copy_abs()  # -0 is 0: PostgreSQL has no negative zero, so neither do we
        return format(value, "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Return a Decimal whatever the storage."""
        return None if value is None else Decimal(value)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes in and out; timestamptz on PostgreSQL, ISO text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            msg = f"naive datetime {value!r}: timestamps must be timezone-aware"
            raise ValueError(msg)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# What no text column can hold: NUL (PostgreSQL refuses it) and lone surrogates (they have no UTF-8 at all).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    r"""The text with NUL and lone surrogates as backslash escapes (\x00, \ud800): any column takes it."""
    return _UNSTORABLE.sub(lambda found: ascii(found[0])[1:-1], text)


class StorableText(TypeDecorator[str]):
    """TEXT for what sources and their errors say: any Python string goes in (see storable)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        """Escape what the database cannot hold; a reason or an error must never fail its own write."""
        return None if value is None else storable(value)
