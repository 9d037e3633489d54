"""Grad-CAM (Selvaraju et al. 2017): where in the image the detector sees evidence of generation.

The activations A of a conv layer (the last stage by default) are weighted by
the spatial mean of d(logit)/dA per channel, summed over channels, passed
through ReLU, upsampled to the input size and scaled to [0, 1] per image.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def default_target_layer(model: nn.Module) -> nn.Module:
    """The model's declared Grad-CAM layer, else its last Conv2d."""
    layer = getattr(model, "gradcam_layer", None)
    if layer is not None:
        return layer
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError("model has no Conv2d layer to compute Grad-CAM on")
    return convs[-1]


def grad_cam(
    model: nn.Module, x: torch.Tensor, target_layer: nn.Module | None = None, *, target: str = "generated"
) -> torch.Tensor:
    """Heatmaps (N, H, W) in [0, 1] at x's resolution for a one-logit detector.

    `target` "generated" explains the logit (evidence for generated), "real" its
    negation. The model's train/eval mode is left as it is (use eval for reports),
    and its parameter gradients are not touched.
    """
    if target not in ("generated", "real"):
        raise ValueError(f"target must be 'generated' or 'real', got {target!r}")
    layer = target_layer if target_layer is not None else default_target_layer(model)
    captured: dict[str, torch.Tensor] = {}

    def keep_activation(_module, _inputs, output):
        captured["activation"] = output
        # Later in-place ops (ReLU(inplace=True)) then change the clone, not the tensor we differentiate by.
        return output.clone()

    handle = layer.register_forward_hook(keep_activation)
    try:
        with torch.enable_grad():
            # Gradients flow from the input, so frozen models (e.g. an EMA copy) work too.
            inputs = x.detach().requires_grad_(True)
            logits = model(inputs).reshape(x.shape[0], -1)[:, 0]
            score = logits if target == "generated" else -logits
            # Samples are independent in eval mode, so the sum's gradient is each sample's own.
            (gradient,) = torch.autograd.grad(score.sum(), captured["activation"], retain_graph=False)
    finally:
        handle.remove()
    activation = captured["activation"].detach()
    weights = gradient.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    peak = cam.flatten(1).max(dim=1).values.clamp_min(1e-12)[:, None, None]
    return (cam / peak).clamp(0.0, 1.0)
