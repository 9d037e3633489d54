"""Data order, augmentation and perturbations: seeded, resumable, shape-preserving."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shared.training.augment import Geometric, random_crops
from shared.training.perturb import gaussian_blur, jpeg_roundtrip, resize_roundtrip, shuffle_patches
from shared.training.sampler import BalancedSampler, EpochSampler


def test_epoch_sampler_covers_every_index_and_resumes():
    sampler = EpochSampler(7, seed=3)
    first_epoch = sampler.next_indices(7)
    assert sorted(first_epoch) == list(range(7))
    sampler.next_indices(3)
    state = sampler.state_dict()
    expected = sampler.next_indices(9)
    restored = EpochSampler(7, seed=3)
    restored.load_state_dict(state)
    assert restored.next_indices(9) == expected


def test_balanced_sampler_gives_half_of_each_class():
    labels = [0] * 30 + [1] * 4
    batch = BalancedSampler(labels, seed=0).next_indices(8)
    assert sum(labels[i] for i in batch) == 4
    with pytest.raises(ValueError):
        BalancedSampler([0, 0, 2], seed=0)


def test_augmentations_are_seeded_and_keep_shapes(naip_32):
    tiles = naip_32[:6]

    def run():
        generator = torch.Generator().manual_seed(5)
        out = Geometric()(tiles, generator)
        return random_crops(out, 24, generator)

    a, b = run(), run()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert all(x.shape == (24, 24, 3) and x.dtype == np.uint8 for x in a)
    # Geometric transforms only move pixels.
    moved = Geometric()(tiles, torch.Generator().manual_seed(1))
    assert all(sorted(m.ravel().tolist()) == sorted(t.ravel().tolist()) for m, t in zip(moved, tiles))


def test_perturbations_keep_size_and_change_content(naip_32):
    tile = naip_32[0]
    for out in (
        jpeg_roundtrip(tile, 50),
        resize_roundtrip(tile, 0.5),
        gaussian_blur(tile, 1.5),
        shuffle_patches(tile, 8, np.random.default_rng(0)),
    ):
        assert out.shape == tile.shape and out.dtype == np.uint8 and not np.array_equal(out, tile)
    shuffled = shuffle_patches(tile, 4, np.random.default_rng(0))
    assert sorted(shuffled.ravel().tolist()) == sorted(tile.ravel().tolist())
