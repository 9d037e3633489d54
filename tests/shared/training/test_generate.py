"""generate_images: deterministic by seed, image i uses seed + i, progress per batch, class checks."""

from __future__ import annotations

import numpy as np
import pytest

from shared.models import load_model
from shared.training import ImageSet, generate_images, train_ddpm


@pytest.fixture(scope="module")
def model_dir(naip_32, tmp_path_factory):
    result = train_ddpm(
        ImageSet(naip_32, [i % 2 for i in range(len(naip_32))]),
        architecture="ddpm-unet-tiny",
        # A short schedule keeps full-length DDPM sampling cheap.
        overrides={"num_classes": 2, "num_train_timesteps": 100},
        hparams={"batch_size": 4},
        max_steps=2,
        work_dir=tmp_path_factory.mktemp("ddpm"),
    )
    return result.model_dir


def arrays(images) -> np.ndarray:
    return np.stack([np.asarray(i) for i in images]).astype(np.int16)


def test_same_seed_same_images_and_per_image_seeds_line_up(model_dir):
    progress = []
    first = generate_images(model_dir, 5, steps=4, seed=10, batch_size=2, callback=lambda d, n: progress.append((d, n)))
    again = generate_images(model_dir, 5, steps=4, seed=10, batch_size=2)
    assert progress == [(2, 5), (4, 5), (5, 5)]
    assert len(first) == 5 and first[0].size == (32, 32) and first[0].mode == "RGB"
    assert np.array_equal(arrays(first), arrays(again))
    alone = generate_images(model_dir, 1, steps=4, seed=13)
    # The 4th image of the seed-10 run was sampled from seed 13 (in another batch: equal up to rounding).
    assert np.abs(arrays(alone)[0] - arrays(first)[3]).max() <= 1
    assert not np.array_equal(arrays(first)[0], arrays(first)[1])


def test_class_label_and_guidance(model_dir):
    model = load_model(model_dir)
    guided = generate_images(model, 2, steps=3, seed=0, class_label=1, guidance_scale=3.0)
    plain = generate_images(model, 2, steps=3, seed=0)
    assert len(guided) == 2 and not np.array_equal(arrays(guided), arrays(plain))
    with pytest.raises(ValueError, match="class"):
        generate_images(model, 1, steps=2, class_label=2)


def test_ddpm_sampler_uses_the_training_schedule(model_dir):
    assert generate_images(model_dir, 0) == []
    images = generate_images(model_dir, 2, sampler="ddpm", steps=0, seed=1)  # 0: the sampler's default
    assert [i.size for i in images] == [(32, 32), (32, 32)]
    with pytest.raises(ValueError, match="DDPM"):
        generate_images(model_dir, 1, sampler="ddpm", steps=3)
