"""Alembic migrations of the store (run them with `deis.store.migrate.upgrade`)."""
