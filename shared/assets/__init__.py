"""Real imagery shipped with the project (see ATTRIBUTION.md)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent
NAIP = ROOT / "imagery" / "naip"
NEON = ROOT / "imagery" / "neon"
PHOTOS = ROOT / "photos"


def naip_scenes() -> list[Path]:
    """The ten NAIP PNG scenes, oldest first (one per year)."""
    return sorted(NAIP.glob("*.png"))


IMAGERY = ROOT / "imagery"


def real_scenes() -> dict[str, list[Path]]:
    """Every shipped real scene by source ("naip", "neon", "landsat", "usgs-hro"), sorted by name."""
    return {d.name: sorted(d.glob("*.png")) for d in sorted(IMAGERY.iterdir()) if d.is_dir()}
