"""Seeded, grouped train/val/test assignment.

The assignment is a pure function of (group keys, fractions, seed): groups
are ordered by sha256(seed, key) and cut by the fractions of the group count,
so related images (tiles of one scene, one photo, one map cell) always land
in the same split, and the same spec over the same images gives the same
answer on any machine.

Groups are stratified by the `authenticity` label (real / generated) when
images carry it: each stratum is cut by the fractions on its own, so ten
real scenes among hundreds of generated images still split 6/2/2 instead of
landing wherever their hashes fall.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from shared.errors import InvalidArgument
from shared.geo import lonlat_to_tile

GROUPINGS = ("IMAGE", "SCENE", "TILE_AREA", "PHOTO", "LABEL")


@dataclass(frozen=True)
class SplitSpec:
    train: float
    val: float
    test: float
    seed: int = 0
    grouping: str = "SCENE"
    group_zoom: int = 14
    group_label_key: str = ""

    def validate(self) -> "SplitSpec":
        for name, value in (("train", self.train), ("val", self.val), ("test", self.test)):
            if not 0 <= value <= 1:
                raise InvalidArgument(f"{name}_fraction must be between 0 and 1, got {value}")
        if abs(self.train + self.val + self.test - 1) > 1e-6:
            raise InvalidArgument(
                f"split fractions must sum to 1, got {self.train} + {self.val} + {self.test}"
            )
        if self.grouping not in GROUPINGS:
            raise InvalidArgument(f"grouping must be one of {', '.join(GROUPINGS)}")
        if not 0 <= self.group_zoom <= 22:
            raise InvalidArgument(f"group_zoom must be between 0 and 22, got {self.group_zoom}")
        if self.grouping == "LABEL" and not self.group_label_key:
            raise InvalidArgument("grouping LABEL needs group_label_key")
        return self

    def to_dict(self) -> dict:
        return {
            "train_fraction": self.train,
            "val_fraction": self.val,
            "test_fraction": self.test,
            "seed": self.seed,
            "grouping": self.grouping,
            "group_zoom": self.group_zoom,
            "group_label_key": self.group_label_key,
        }


def group_key(spec: SplitSpec, image: dict) -> str:
    """The unit kept whole for one image row (id, origin, footprint, labels)."""
    if spec.grouping == "IMAGE":
        return image["id"]
    if spec.grouping in ("SCENE", "PHOTO"):
        return image["origin"]
    if spec.grouping == "TILE_AREA":
        if image.get("west") is None:
            return "origin:" + image["origin"]  # no footprint: fall back to the source item
        lon = (image["west"] + image["east"]) / 2
        if image["west"] > image["east"]:  # crosses the antimeridian
            lon = ((image["west"] + image["east"] + 360) / 2 + 180) % 360 - 180
        lat = (image["south"] + image["north"]) / 2
        x, y = lonlat_to_tile(lon, lat, spec.group_zoom)
        return f"z{spec.group_zoom}/{x}/{y}"
    value = (image.get("labels") or {}).get(spec.group_label_key)
    return f"label:{value}" if value is not None else image["id"]


STRATUM_LABEL = "authenticity"


def group_strata(images: list[dict], keys: dict[str, str]) -> dict[str, str]:
    """group key -> its stratum (the `authenticity` label) for image rows and their group keys.

    A group with any real image is a real group: fakes made from a real image (the generator zoo)
    share its footprint and origin, hence its group, and follow it. Otherwise the group takes the
    smallest label among its images. The result never depends on the order of the rows: it used to
    be the first image's label in id (content-hash) order, so a dataset whose fakes changed a
    single byte could stratify, and split, its real scenes differently.
    """
    labels: dict[str, set[str]] = {}
    for image in images:
        labels.setdefault(keys[image["id"]], set()).add(str((image.get("labels") or {}).get(STRATUM_LABEL, "")))
    return {key: "real" if "real" in values else min(values) for key, values in labels.items()}


def assign(spec: SplitSpec, keys: set[str], strata: dict[str, str] | None = None) -> dict[str, str]:
    """group key -> "TRAIN" | "VAL" | "TEST"; each stratum (group -> stratum name) is cut separately."""
    by_stratum: dict[str, list[str]] = {}
    for key in keys:
        by_stratum.setdefault((strata or {}).get(key, ""), []).append(key)
    out = {}
    for members in by_stratum.values():
        ordered = sorted(members, key=lambda k: hashlib.sha256(f"{spec.seed}\x00{k}".encode()).hexdigest())
        n = len(ordered)
        n_train = round(spec.train * n)
        n_val = round(spec.val * n)
        if n_train + n_val > n:
            n_val = n - n_train
        for i, key in enumerate(ordered):
            out[key] = "TRAIN" if i < n_train else ("VAL" if i < n_train + n_val else "TEST")
    return out
