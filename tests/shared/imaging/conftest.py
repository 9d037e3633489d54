"""Fixtures for the imaging tests: real NAIP imagery from shared/assets."""

from __future__ import annotations

import pytest
from PIL import Image

from tests.shared.imaging.assets import NAIP_2010_PNG


@pytest.fixture
def naip_image() -> Image.Image:
    """A 934x723 RGB NAIP scene."""
    with Image.open(NAIP_2010_PNG) as image:
        return image.convert("RGB")
