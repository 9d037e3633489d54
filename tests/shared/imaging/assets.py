"""Paths to the real images shipped in shared/assets (see ATTRIBUTION.md there)."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parents[3] / "shared" / "assets"
NAIP = ASSETS / "imagery" / "naip"
NAIP_2009_TIF = NAIP / "m_4709963_se_14_1_20090818.tif"  # 934x724, 4 bands
NAIP_2009_PNG = NAIP / "m_4709963_se_14_1_20090818.png"  # 934x724
NAIP_2010_PNG = NAIP / "m_4709963_se_14_1_20100629.png"  # 934x723
NEON_PNG = ASSETS / "imagery" / "neon" / "OSBS_029.png"
CHELSEA_PNG = ASSETS / "photos" / "chelsea.png"
COFFEE_PNG = ASSETS / "photos" / "coffee.png"
CHINA_JPG = ASSETS / "photos" / "sklearn_china.jpg"
