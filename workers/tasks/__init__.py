"""One module of Celery tasks per domain."""
