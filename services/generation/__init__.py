"""GenerationService: sample images from generators, colorize photos."""
