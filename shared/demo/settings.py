"""Demo settings: the CPU defaults (under 15 minutes on 2 cores) and a larger GPU preset."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class DemoSettings:
    tile_size: int = 64  # cut from each 256-px map tile and stored at that native size
    image_size: int = 32  # what the generator learns and makes (its loader shrinks the tiles)
    generator: str = "ddpm-unet-tiny"
    generator_steps: int = 5000
    generator_batch: int = 16
    # A small net learns fastest at a high rate: against its training years, SWD after 5,000 steps was
    # 0.063 at 5e-4 and 0.043 to 0.045 at 4e-3 (two runs); bench/RESULTS.md "Third pass".
    generator_lr: float = 4e-3
    fakes: int = 2400
    sampler_steps: int = 20
    # DDIM eta (0: deterministic; 1: stochastic, as DDPM). eta=1 was not better on the demo's split.
    sampler_eta: float = 0.0
    # The generator zoo: every registered family fitted on the training years and applied to up to
    # this many real tiles (each family fakes every one of them, at native size).
    zoo_fit_steps: int = 300
    zoo_max_images: int = 500
    # The frozen EfficientNet-Lite0 probe on 32-px crops (stride 16) at the image's own scale, each crop
    # enlarged 2x (nearest) so the backbone's strided stem keeps the finest pixel grid: the DDPM's 32-px
    # samples are one crop. Against NPR on the same crops it held unseen families better, JPEG-compressed
    # too (bench/RESULTS.md, "Eleventh pass"); NPR stays selectable (detector="detector-npr", upsample 1).
    detector: str = "detector-effnet-probe"
    detector_crop: int = 32
    detector_upsample: int = 2
    # Only the probe's linear head trains: 1,000 steps of 64 crops (four times the benchmark's 500 x 32).
    detector_steps: int = 1000
    detector_batch: int = 64
    # Colour jitter on both classes (held-out years differ in exposure and colour), resizing before
    # the crop, blur and JPEG (how images travel), and the threshold that keeps type II error
    # (generated called real) within 2% on the validation years.
    detector_color_jitter: float = 0.15
    detector_resize_prob: float = 0.3
    detector_blur_prob: float = 0.1
    detector_jpeg_prob: float = 0.5
    detector_jpeg_quality_min: int = 50
    detector_max_type_ii: float = 0.02
    # Leave one family out at evaluation: one detector per family, each trained this many steps without it.
    detector_leave_one_out_steps: int = 400
    colorizer_size: int = 64
    colorizer_steps: int = 300
    colorizer_batch: int = 8
    colorizer_width: int = 32
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


CPU = DemoSettings()

# For a CUDA GPU node (documented in the README; not run on the CPU machines).
GPU = replace(
    CPU,
    image_size=64,
    tile_size=128,
    generator="ddpm-unet-small",
    generator_steps=40_000,
    generator_batch=64,
    generator_lr=2e-4,
    fakes=4000,
    sampler_steps=50,
    zoo_fit_steps=2000,
    zoo_max_images=0,
    detector_crop=64,
    detector_steps=8000,
    detector_leave_one_out_steps=4000,
    colorizer_size=128,
    colorizer_steps=5000,
    colorizer_width=64,
)

# The smallest end-to-end run, for tests of the demo command itself.
SMOKE = replace(CPU, generator_steps=30, fakes=80, sampler_steps=5, zoo_fit_steps=5, zoo_max_images=60,
                detector_steps=30, detector_leave_one_out_steps=5, colorizer_steps=4)

PRESETS = {"cpu": CPU, "gpu": GPU, "smoke": SMOKE}
