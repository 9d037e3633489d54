"""pix2pix objective: conditional GAN loss plus lambda * L1 to the true colours (Isola et al. eq. 4, lambda = 100).

Vanilla GAN losses on logits (binary cross-entropy); the discriminator's loss
is halved, as in pix2pix, to slow it relative to the generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

L1_WEIGHT = 100.0


@dataclass
class GeneratorLoss:
    """The generator's total loss and its two terms (for logging)."""

    total: torch.Tensor
    adversarial: torch.Tensor
    l1: torch.Tensor


def adversarial_loss(logits: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    target = torch.ones_like(logits) if target_is_real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits.float(), target.float())


def generator_loss(
    fake_logits: torch.Tensor, fake_ab: torch.Tensor, real_ab: torch.Tensor, l1_weight: float = L1_WEIGHT
) -> GeneratorLoss:
    """Fool the discriminator on (L, fake_ab) and stay close to the true ab in L1."""
    adversarial = adversarial_loss(fake_logits, True)
    l1 = F.l1_loss(fake_ab.float(), real_ab.float())
    return GeneratorLoss(total=adversarial + l1_weight * l1, adversarial=adversarial, l1=l1)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Real pairs -> 1, generated pairs -> 0; pass `fake_logits` from detached generator output."""
    return 0.5 * (adversarial_loss(real_logits, True) + adversarial_loss(fake_logits, False))
