"""gRPC servicers, one package per domain, and the server that hosts them."""
