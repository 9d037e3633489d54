"""The registry of job kinds: which Celery task runs each, on which queue.

Services create jobs by kind; the dispatcher sends the kind's task to the
job's queue. Workers register the task under the same name.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import InvalidArgument

QUEUES = ("cpu", "gpu")


@dataclass(frozen=True)
class JobKind:
    name: str
    task: str
    queue: str
    description: str


KINDS: dict[str, JobKind] = {
    k.name: k
    for k in [
        JobKind("diagnostic.sleep", "terrafake.diagnostic.sleep", "cpu", "sleeps in steps, reporting progress"),
        JobKind("ingestion.upload", "terrafake.ingestion.upload", "cpu", "ingests uploaded files and archives"),
        JobKind("ingestion.urls", "terrafake.ingestion.urls", "cpu", "downloads and ingests a list of URLs"),
        JobKind("ingestion.xyz", "terrafake.ingestion.xyz", "cpu", "fetches XYZ map tiles over a bounding box"),
        JobKind("ingestion.pastvu", "terrafake.ingestion.pastvu", "cpu", "fetches PastVu photos in an area"),
        JobKind("ingestion.geotiff", "terrafake.ingestion.geotiff", "cpu", "reads a GeoTIFF's bands and footprint"),
        JobKind("ingestion.folder", "terrafake.ingestion.folder", "cpu", "ingests a folder on the server"),
        JobKind("training.generator", "terrafake.training.generator", "gpu", "trains a DDPM generator"),
        JobKind("training.detector", "terrafake.training.detector", "gpu", "trains a real-vs-generated detector"),
        JobKind("training.colorizer", "terrafake.training.colorizer", "gpu", "trains a pix2pix colorizer"),
        JobKind("evaluation.run", "terrafake.evaluation.run", "gpu", "evaluates a model version on a dataset"),
        JobKind("serving.export", "terrafake.serving.export", "cpu", "exports a model version to Triton"),
        JobKind("generation.to_dataset", "terrafake.generation.to_dataset", "gpu", "writes generated images"),
        JobKind("generation.zoo", "terrafake.generation.zoo", "gpu", "builds the detector's generator zoo"),
        JobKind("monitoring.drift", "terrafake.monitoring.drift", "cpu", "checks a detector's logged inputs for drift"),
    ]
}


def get_kind(name: str) -> JobKind:
    try:
        return KINDS[name]
    except KeyError:
        raise InvalidArgument(f"unknown job kind {name!r}; known kinds: {', '.join(sorted(KINDS))}") from None


def check_queue(queue: str) -> str:
    if queue not in QUEUES:
        raise InvalidArgument(f"queue must be one of {', '.join(QUEUES)}, got {queue!r}")
    return queue
