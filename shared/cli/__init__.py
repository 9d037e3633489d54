"""The `terrafake` command line, built on shared.client."""
