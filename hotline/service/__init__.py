"""The deployed service: `hotline serve` assembles the runtime, drivers, store and API,
and keeps one active process per centre (standby on a PostgreSQL advisory lock)."""
