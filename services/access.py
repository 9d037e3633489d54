"""Which role each RPC needs. One table, derived from the proto descriptors.

Reads (Get*, List*, Watch*) and inference that stores nothing (Detect,
Generate, Colorize) need `read`; anything that creates or changes state needs
`write`; deleting, promoting and exporting models need `admin`. Every RPC of
every service gets a role here, so a new RPC cannot slip through unguarded.
"""

from __future__ import annotations

from shared.errors import PermissionDenied

# Health checks and reflection are open: load balancers and tools call them.
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

_READ_PREFIXES = ("Get", "List", "Watch")
# The quiz's two writes record only a game round (no platform state): the console plays them for
# anonymous visitors with a read token.
_READ_METHODS = {"Detect", "DetectStream", "Generate", "Colorize", "StartQuizRound", "AnswerQuizRound"}
_ADMIN_METHODS = {"DeleteDataset", "PromoteModel", "ExportModel"}


def role_for(method_name: str) -> str:
    if method_name in _ADMIN_METHODS:
        return "admin"
    if method_name in _READ_METHODS or method_name.startswith(_READ_PREFIXES):
        return "read"
    return "write"


def build_table(service_descriptors) -> dict[str, str]:
    """Full method path ("/pkg.Service/Method") -> required role."""
    table = {}
    for service in service_descriptors:
        for method in service.methods:
            table[f"/{service.full_name}/{method.name}"] = role_for(method.name)
    return table


def required_role(table: dict[str, str], method: str) -> str | None:
    """None for public methods; unknown methods need admin (deny by default)."""
    if method.startswith(PUBLIC_PREFIXES):
        return None
    role = table.get(method)
    if role is None:
        return "admin"
    return role


def check(table, method: str, principal_role: str) -> None:
    from shared.auth import role_allows

    need = required_role(table, method)
    if need is not None and not role_allows(principal_role, need):
        raise PermissionDenied(f"{method} needs a token with the {need!r} role; this token has {principal_role!r}")
