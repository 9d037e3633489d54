"""Sinusoidal timestep embedding of the diffusion U-Net (Vaswani et al. 2017, as in Ho et al. 2020)."""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_embedding(timesteps: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """(N,) timesteps (integer or fractional) -> (N, dim) features [cos | sin]."""
    if timesteps.ndim != 1:
        raise ValueError(f"timesteps must be 1-D, got shape {tuple(timesteps.shape)}")
    half = dim // 2
    # Frequencies from 1 down to 1/max_period on a log scale, so both fast and
    # slow changes of t are visible to the network.
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timesteps.device) / half
    args = timesteps.float()[:, None] * torch.exp(exponent)[None, :]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    if dim % 2:
        emb = torch.nn.functional.pad(emb, (0, 1))
    return emb


class TimestepEmbedding(nn.Module):
    """Sinusoidal features followed by a two-layer MLP, as in DDPM/ADM."""

    def __init__(self, base_dim: int, embed_dim: int):
        super().__init__()
        self.base_dim = base_dim
        self.mlp = nn.Sequential(nn.Linear(base_dim, embed_dim), nn.SiLU(), nn.Linear(embed_dim, embed_dim))

    def forward(self, timesteps: torch.Tensor) -> torch.Tensor:
        return self.mlp(sinusoidal_embedding(timesteps, self.base_dim))
