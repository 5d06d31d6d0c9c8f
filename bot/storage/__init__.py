"""Storage adapters: the SQLAlchemy schema, engines, migrations and repositories."""
