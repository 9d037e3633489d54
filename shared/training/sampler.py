"""Resumable data order: shuffled epochs, and a class-balanced variant for the detector.

Epoch e visits the indices in the permutation seeded by (seed, e), so the
whole state is (epoch, position): a checkpoint stores two integers and a
resumed run draws exactly the batches the uninterrupted run would have.
"""

from __future__ import annotations

import torch

from shared.training.rng import derive_seed


class EpochSampler:
    """Indices 0..n-1 in a fresh random order every epoch; batches may straddle epochs."""

    def __init__(self, n: int, seed: int):
        if n < 1:
            raise ValueError("cannot sample from an empty set")
        self.n = n
        self.seed = seed
        self.epoch = 0
        self.position = 0
        self._order: list[int] | None = None

    def _permutation(self) -> list[int]:
        if self._order is None:
            generator = torch.Generator().manual_seed(derive_seed(self.seed, "epoch", self.epoch))
            self._order = torch.randperm(self.n, generator=generator).tolist()
        return self._order

    def next_indices(self, count: int) -> list[int]:
        out: list[int] = []
        while len(out) < count:
            order = self._permutation()
            take = min(count - len(out), self.n - self.position)
            out.extend(order[self.position : self.position + take])
            self.position += take
            if self.position == self.n:
                self.epoch, self.position, self._order = self.epoch + 1, 0, None
        return out

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.position, self._order = int(state["epoch"]), int(state["position"]), None


class BalancedSampler:
    """Half of every batch from each of two classes (labels 0 and 1), each class in its own shuffled epochs.

    Balancing keeps the detector from learning the class prior when the real
    and generated sets differ in size. An odd batch gives class 1 the extra image.
    """

    def __init__(self, labels: list[int], seed: int):
        self.members: dict[int, list[int]] = {0: [], 1: []}
        for index, label in enumerate(labels):
            if label not in self.members:
                raise ValueError(f"detector labels must be 0 (real) or 1 (generated), got {label!r}")
            self.members[label].append(index)
        if not self.members[0] or not self.members[1]:
            raise ValueError("detector training needs both real (0) and generated (1) images")
        self.samplers = {
            label: EpochSampler(len(members), derive_seed(seed, "class", label))
            for label, members in self.members.items()
        }

    def next_indices(self, count: int) -> list[int]:
        real = self.samplers[0].next_indices(count // 2)
        generated = self.samplers[1].next_indices(count - count // 2)
        return [self.members[0][i] for i in real] + [self.members[1][i] for i in generated]

    def state_dict(self) -> dict:
        return {str(label): sampler.state_dict() for label, sampler in self.samplers.items()}

    def load_state_dict(self, state: dict) -> None:
        for label, sampler in self.samplers.items():
            sampler.load_state_dict(state[str(label)])
