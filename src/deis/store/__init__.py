"""The store adapter: the `deis.ports.Store` port on SQLAlchemy (SQLite or PostgreSQL).

`sqlalchemy_store.SqlStore` is the adapter, `models` the schema, `migrate` runs the
Alembic migrations, `dump` backs the database up to JSON and back. Only this package
knows SQL.
"""
