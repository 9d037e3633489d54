"""The local stack: embedded Postgres and Redis, the gRPC server and workers."""
