"""Generated gRPC stubs live in shared/api/terrafake (imported as `terrafake`)."""
