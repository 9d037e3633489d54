"""Real imagery shipped with the project (see ATTRIBUTION.md)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent
NAIP = ROOT / "imagery" / "naip"
NEON = ROOT / "imagery" / "neon"
PHOTOS = ROOT / "photos"


def naip_scenes() -> list[Path]:
    """The ten NAIP PNG scenes, oldest first (one per year)."""
    return sorted(NAIP.glob("*.png"))
