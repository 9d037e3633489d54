"""Jobs: Postgres-backed state, the kinds registry, dispatch to Celery, supervision."""
