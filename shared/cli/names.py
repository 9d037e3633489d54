"""Names where the CLI takes ids: a dataset by its name, a dataset version as `name@N` (or `name` for
its newest), a model version as `name@N`, `name:stage` (production, staging, archived, none) or `name`
for its newest. A UUID passes through unchanged. Resolution asks the server, so it needs no database.
"""

from __future__ import annotations

import uuid

from shared.cli.errors import CliError
from terrafake.ingestion.v1 import ingestion_service_pb2 as ing_pb
from terrafake.training.v1 import model_pb2, training_service_pb2 as tr_pb

# Commands whose --version / version_id name a model version; in `datasets` they name a dataset version.
MODEL_COMMANDS = {"models", "evaluate", "generate", "detect", "colorize"}


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _pages(call, request, field: str):
    token = ""
    while True:
        request.page.page_token = token
        response = call(request)
        yield from getattr(response, field)
        token = response.page.next_page_token
        if not token:
            return


def dataset_id(client, ref: str) -> str:
    if is_uuid(ref):
        return ref
    request = ing_pb.ListDatasetsRequest(name_contains=ref)
    for dataset in _pages(lambda r: client.call(client.ingestion.ListDatasets, r), request, "datasets"):
        if dataset.name == ref:
            return dataset.id
    raise CliError(f"no dataset named {ref!r} (`terrafake datasets list` shows them)")


def _split(ref: str, separator: str) -> tuple[str, str | None]:
    name, _, rest = ref.rpartition(separator)
    return (name, rest) if name else (ref, None)


def dataset_version_id(client, ref: str) -> str:
    if is_uuid(ref):
        return ref
    name, number = _split(ref, "@")
    if number is not None and not number.isdigit():
        raise CliError(f"{ref!r}: a dataset version is a UUID, NAME@N or NAME (its newest)")
    dataset = dataset_id(client, name)
    request = ing_pb.ListDatasetVersionsRequest(dataset_id=dataset)
    versions = list(_pages(lambda r: client.call(client.ingestion.ListDatasetVersions, r), request, "dataset_versions"))
    if not versions:
        raise CliError(f"dataset {name!r} has no versions yet (`terrafake datasets version {name}` makes one)")
    if number is None:
        return max(versions, key=lambda v: v.version_number).id
    for version in versions:
        if version.version_number == int(number):
            return version.id
    known = sorted(v.version_number for v in versions)
    raise CliError(f"dataset {name!r} has no version {number}; it has {known}")


def model_version_id(client, ref: str) -> str:
    if is_uuid(ref):
        return ref
    stage = None
    name, number = _split(ref, "@")
    if number is None:
        name, stage = _split(ref, ":")
    if number is not None and not number.isdigit():
        raise CliError(f"{ref!r}: a model version is a UUID, NAME@N, NAME:STAGE or NAME (its newest)")
    stages = []
    if stage is not None:
        key = "MODEL_STAGE_" + stage.upper()
        if key not in model_pb2.ModelStage.keys() or stage.upper() == "UNSPECIFIED":
            raise CliError(f"{ref!r}: unknown stage {stage!r} (production, staging, archived or none)")
        stages = [model_pb2.ModelStage.Value(key)]
    request = tr_pb.ListModelVersionsRequest(model_name=name, stages=stages)
    versions = list(_pages(lambda r: client.call(client.training.ListModelVersions, r), request, "model_versions"))
    if number is not None:
        versions = [v for v in versions if v.version == int(number)]
    if not versions:
        what = f"version {number}" if number else (f"{stage} version" if stage else "versions")
        raise CliError(f"model {name!r} has no {what} (`terrafake models get {name}` lists them)")
    return max(versions, key=lambda v: v.version).id


def resolve(args, client) -> None:
    """Replace names in the parsed arguments by the ids the server expects (in place)."""
    command = getattr(args, "command", "")
    for attr in ("dataset_id", "dataset"):
        if getattr(args, attr, None):
            setattr(args, attr, dataset_id(client, getattr(args, attr)))
    if getattr(args, "dataset_version", None):
        args.dataset_version = dataset_version_id(client, args.dataset_version)
    for attr in ("version_id", "version"):
        value = getattr(args, attr, None)
        if not value or not isinstance(value, str):
            continue
        if command in MODEL_COMMANDS:
            setattr(args, attr, model_version_id(client, value))
        elif command == "datasets":
            setattr(args, attr, dataset_version_id(client, value))
