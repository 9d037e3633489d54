"""Celery app and job tasks, one module per domain."""
