"""Bringing real imagery in from the network: an HTTP fetcher with retries,
rate limits and an address policy, and clients for remote sources (PastVu).

Nothing here imports grpc, the database or Celery, so workers, services and
scripts can all use it, and it can be tested against a local fake server.
"""
