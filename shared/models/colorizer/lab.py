"""Exact sRGB <-> CIE L*a*b* (D65) conversion, and the normalisation the colorizer works in.

sRGB per IEC 61966-2-1 (piecewise gamma), linear RGB -> XYZ with the sRGB
primaries' matrix, XYZ -> L*a*b* per CIE 15 with the D65 white taken as the
matrix's image of RGB white (so white maps to exactly L=100, a=b=0). The
inverse matrix is computed from the forward one, so a round trip is exact to
float precision rather than to 4-digit published constants.

Tensors are (..., 3, H, W) with sRGB in [0, 1] and L in [0, 100]; a, b are
roughly in [-110, 110]. Network normalisation: L/50 - 1 in [-1, 1] and ab/110,
which covers every in-gamut sRGB colour (|a| <= 98.3, |b| <= 107.9) without
clipping; `AB_SCALE` is that 110.
"""

from __future__ import annotations

import numpy as np
import torch

AB_SCALE = 110.0

# Linear sRGB -> CIE XYZ (D65), from the sRGB primaries and white point.
_RGB_TO_XYZ = torch.tensor(
    [
        [0.4123907992659595, 0.3575843393838780, 0.1804807884018343],
        [0.2126390058715104, 0.7151686787677559, 0.0721923153607337],
        [0.0193308187155918, 0.1191947797946259, 0.9505321522496606],
    ],
    dtype=torch.float64,
)
_XYZ_TO_RGB = torch.linalg.inv(_RGB_TO_XYZ)
_WHITE = _RGB_TO_XYZ.sum(dim=1)  # XYZ of RGB (1, 1, 1): Xn = 0.95046, Yn = 1, Zn = 1.08906
_DELTA = 6.0 / 29.0


def _apply_matrix(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,...jhw->...ihw", matrix.to(device=x.device, dtype=x.dtype), x)


def _per_channel(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return values.to(device=x.device, dtype=x.dtype)[:, None, None]


_ENCODED_KNEE = 0.04045
# The standard's 0.0031308 is this value rounded; using the exact image of the
# encoded knee keeps each piece the inverse of its counterpart at the boundary.
_LINEAR_KNEE = _ENCODED_KNEE / 12.92


def srgb_to_linear(c: torch.Tensor) -> torch.Tensor:
    return torch.where(c <= _ENCODED_KNEE, c / 12.92, ((c.clamp_min(_ENCODED_KNEE) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: torch.Tensor) -> torch.Tensor:
    return torch.where(c <= _LINEAR_KNEE, 12.92 * c, 1.055 * c.clamp_min(_LINEAR_KNEE) ** (1.0 / 2.4) - 0.055)


def _f(t: torch.Tensor) -> torch.Tensor:
    # Cube root above (6/29)^3, a linear segment below it so the slope stays finite at 0.
    return torch.where(t > _DELTA**3, t.clamp_min(_DELTA**3) ** (1.0 / 3.0), t / (3 * _DELTA**2) + 4.0 / 29.0)


def _f_inverse(f: torch.Tensor) -> torch.Tensor:
    return torch.where(f > _DELTA, f**3, 3 * _DELTA**2 * (f - 4.0 / 29.0))


def srgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] (..., 3, H, W) -> L*a*b* (..., 3, H, W), L in [0, 100]."""
    xyz = _apply_matrix(_RGB_TO_XYZ, srgb_to_linear(rgb)) / _per_channel(_WHITE, rgb)
    fx, fy, fz = _f(xyz).unbind(dim=-3)
    return torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=-3)


def lab_to_srgb(lab: torch.Tensor, clamp: bool = False) -> torch.Tensor:
    """L*a*b* (..., 3, H, W) -> sRGB; out-of-gamut colours leave [0, 1] unless `clamp`."""
    L, a, b = lab.unbind(dim=-3)
    fy = (L + 16.0) / 116.0
    f = torch.stack([fy + a / 500.0, fy, fy - b / 200.0], dim=-3)
    xyz = _f_inverse(f) * _per_channel(_WHITE, lab)
    rgb = linear_to_srgb(_apply_matrix(_XYZ_TO_RGB, xyz))
    return rgb.clamp(0.0, 1.0) if clamp else rgb


def normalize_lightness(lightness: torch.Tensor) -> torch.Tensor:
    """L* in [0, 100] -> [-1, 1], the colorizer's input."""
    return lightness / 50.0 - 1.0


def normalize_lab(lab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """L*a*b* -> (L in [-1, 1] (..., 1, H, W), ab / AB_SCALE (..., 2, H, W)): the colorizer's input and target."""
    return normalize_lightness(lab[..., :1, :, :]), lab[..., 1:, :, :] / AB_SCALE


def denormalize_lab(l_norm: torch.Tensor, ab_norm: torch.Tensor) -> torch.Tensor:
    """Inverse of `normalize_lab`."""
    return torch.cat([(l_norm + 1.0) * 50.0, ab_norm * AB_SCALE], dim=-3)


def srgb_to_lab_np(rgb: np.ndarray) -> np.ndarray:
    """NumPy convenience: (H, W, 3) sRGB in [0, 1] (or uint8) -> (H, W, 3) L*a*b*, float64."""
    rgb = np.asarray(rgb)
    values = rgb / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float64)
    lab = srgb_to_lab(torch.from_numpy(np.ascontiguousarray(values)).movedim(-1, -3))
    return lab.movedim(-3, -1).numpy()


def lab_to_srgb_np(lab: np.ndarray, clamp: bool = False) -> np.ndarray:
    """NumPy convenience: (H, W, 3) L*a*b* -> (H, W, 3) sRGB float64."""
    tensor = torch.from_numpy(np.ascontiguousarray(lab, dtype=np.float64)).movedim(-1, -3)
    return lab_to_srgb(tensor, clamp=clamp).movedim(-3, -1).numpy()
