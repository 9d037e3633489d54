"""google.protobuf.Struct values (job params and results) as plain Python for people to read."""

from __future__ import annotations

from google.protobuf.json_format import MessageToDict


def whole_numbers(value):
    """`value` with every float that holds a whole number as an int: job params and results travel as
    google.protobuf.Struct, whose only number type is double, so 50 images would print as 50.0."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value


def struct_dict(message) -> dict:
    """A Struct message as a dict, whole numbers as ints."""
    return whole_numbers(MessageToDict(message))
