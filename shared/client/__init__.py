"""The terrafake Python client: typed wrappers over the gRPC stubs."""

from shared.client.client import Client, ClientError, connect

__all__ = ["Client", "ClientError", "connect"]
