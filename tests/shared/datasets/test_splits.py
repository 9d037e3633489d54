"""Split assignment: seeded, grouped, stratified by the authenticity label."""

from collections import Counter

import pytest

from shared.datasets.splits import SplitSpec, assign, group_key, group_strata
from shared.errors import InvalidArgument

SPEC = SplitSpec(train=0.6, val=0.2, test=0.2, seed=3, grouping="SCENE")


def test_strata_are_split_on_their_own():
    real = {f"scene-{i}" for i in range(10)}
    fake = {f"seed:{i}" for i in range(800)}
    strata = {**{k: "real" for k in real}, **{k: "generated" for k in fake}}
    out = assign(SPEC, real | fake, strata)
    assert Counter(out[k] for k in real) == {"TRAIN": 6, "VAL": 2, "TEST": 2}
    assert Counter(out[k] for k in fake) == {"TRAIN": 480, "VAL": 160, "TEST": 160}
    assert assign(SPEC, real | fake, strata) == out  # deterministic
    assert assign(SplitSpec(0.6, 0.2, 0.2, seed=4), real | fake, strata) != out  # the seed matters


def test_without_strata_groups_are_cut_together():
    keys = {f"g{i}" for i in range(10)}
    assert Counter(assign(SPEC, keys).values()) == {"TRAIN": 6, "VAL": 2, "TEST": 2}


def test_group_keys_and_validation():
    img = {"id": "abc", "origin": "scene.png", "west": -99.2, "south": 47.0, "east": -99.1, "north": 47.1,
           "labels": {"year": "2010"}}  # fmt: skip
    assert group_key(SPEC, img) == "scene.png"
    assert group_key(SplitSpec(1, 0, 0, grouping="TILE_AREA", group_zoom=10), img).startswith("z10/")
    assert group_key(SplitSpec(1, 0, 0, grouping="LABEL", group_label_key="year"), img) == "label:2010"
    assert group_key(SplitSpec(1, 0, 0, grouping="IMAGE"), img) == "abc"
    with pytest.raises(InvalidArgument, match="sum to 1"):
        SplitSpec(0.5, 0.2, 0.2).validate()
    with pytest.raises(InvalidArgument, match="group_label_key"):
        SplitSpec(1, 0, 0, grouping="LABEL").validate()


def test_a_group_with_a_real_image_is_real_whatever_order_its_rows_come_in():
    # A real tile and two zoo fakes of it share a tile area; one DDPM sample is a group of its own.
    rows = [
        {"id": "00aa", "labels": {"authenticity": "generated", "family": "gan"}},
        {"id": "77bb", "labels": {"authenticity": "real"}},
        {"id": "ffcc", "labels": {"authenticity": "generated", "family": "autoencoder"}},
        {"id": "1234", "labels": {"authenticity": "generated", "family": "ddpm"}},
        {"id": "9999", "labels": {}},
    ]
    keys = {"00aa": "z14/1/2", "77bb": "z14/1/2", "ffcc": "z14/1/2", "1234": "origin:1234", "9999": "origin:9999"}
    expected = {"z14/1/2": "real", "origin:1234": "generated", "origin:9999": ""}
    assert group_strata(rows, keys) == expected
    # The fakes' ids (content hashes) change when their bytes do: the strata must not.
    assert group_strata(list(reversed(rows)), keys) == expected
    assert group_strata(rows[1:] + rows[:1], keys) == expected
