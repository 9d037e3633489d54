"""64-bit DCT perceptual hash, used to skip near-duplicate images.

Two images are near-duplicates when the Hamming distance between their hashes
is at most IngestOptions.near_duplicate_max_distance. The hash survives
re-encoding, mild resizing and small colour shifts, but not crops or
rotations.

Hashes are unsigned 64-bit ints in Python; Postgres has no unsigned 64-bit
type, so they are stored in a bigint via phash_to_signed/phash_from_signed.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

_SIZE = 32  # side of the grayscale thumbnail the DCT runs on
_BITS = 64
_MASK64 = (1 << _BITS) - 1


def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix: C @ x is the DCT of the column vector x."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    matrix = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    matrix[0] /= np.sqrt(2.0)
    return matrix


_DCT = _dct_matrix(_SIZE)


def phash(image: Image.Image) -> int:
    """Perceptual hash of `image` as an unsigned 64-bit int.

    The image is reduced to a 32x32 grayscale thumbnail (box resampling) and
    transformed with a 2-D DCT. The 8x8 block of lowest frequencies *after*
    the DC row and column (coefficients [1:9, 1:9], as in the original pHash
    library) gives 64 bits: 1 where a coefficient is above the block's median.
    Skipping row and column 0 drops the DC term, which only encodes mean
    brightness, and keeps all 64 bits informative. The first coefficient is the
    most significant bit.
    """
    gray = image.convert("L").resize((_SIZE, _SIZE), Image.Resampling.BOX)
    pixels = np.asarray(gray, dtype=np.float64)
    coefficients = _DCT @ pixels @ _DCT.T
    low = coefficients[1:9, 1:9].ravel()
    bits = low > np.median(low)
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two hashes (signed or unsigned form)."""
    return ((a ^ b) & _MASK64).bit_count()


def phash_to_signed(h: int) -> int:
    """Map an unsigned 64-bit hash onto the signed range of a Postgres bigint."""
    if not 0 <= h <= _MASK64:
        raise ValueError(f"hash {h} is not an unsigned 64-bit value")
    return h - (1 << _BITS) if h >= 1 << (_BITS - 1) else h


def phash_from_signed(v: int) -> int:
    """Inverse of phash_to_signed."""
    if not -(1 << (_BITS - 1)) <= v < 1 << (_BITS - 1):
        raise ValueError(f"value {v} is not a signed 64-bit value")
    return v & _MASK64
