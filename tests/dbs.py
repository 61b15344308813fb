"""Database fixtures for storage tests (SQLite and the machine's real Postgres)."""
