"""The frozen EfficientNet-Lite0 probe: what `upsample` does to a crop, and what stays frozen."""

from __future__ import annotations

import pytest
import torch

from shared.models import create_model, load_model, save_model


def test_upsample_is_nearest_enlargement_before_the_backbone():
    torch.manual_seed(0)
    up = create_model("detector-effnet-probe", input_size=32, crop_stride=16, upsample=2).eval()
    plain = create_model("detector-effnet-probe", input_size=64).eval()
    plain.load_state_dict(up.state_dict())
    crop = torch.rand(3, 3, 32, 32) * 2 - 1
    enlarged = crop.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)  # every pixel a 2x2 block
    with torch.no_grad():
        assert torch.allclose(up(crop), plain(enlarged), atol=1e-5)
        # Not a no-op: the same crop without enlargement is judged differently.
        assert not torch.allclose(up(crop), plain(crop), atol=1e-3)


def test_upsample_is_part_of_the_saved_config(tmp_path):
    model = create_model("detector-effnet-probe", input_size=32, crop_stride=16, upsample=2)
    loaded = load_model(save_model(model, tmp_path / "probe"))
    assert loaded.config["upsample"] == 2 and loaded.config["input_size"] == 32
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), loaded.eval()(x), atol=1e-6)


def test_only_the_head_trains():
    model = create_model("detector-effnet-probe", input_size=32, upsample=2)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"fc.weight", "fc.bias"}
    model.train()
    assert not model.backbone.training  # its BatchNorm keeps ImageNet's statistics


@pytest.mark.parametrize("bad", [0, -2])
def test_upsample_below_one_is_refused(bad):
    with pytest.raises(ValueError, match="upsample must be a whole number >= 1"):
        create_model("detector-effnet-probe", upsample=bad)
