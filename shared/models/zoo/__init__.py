"""Small image-to-image generators whose outputs are fakes for the detector's generator zoo.

Each leaves the trace of a family of real generators: the KL autoencoder the
decoder trace of every latent diffusion model, the learned up-sampler that of
super-resolution and of GAN/diffusion up-sampling stages, the layout GAN that
of an adversarially trained synthesis network.
"""

from shared.models.zoo.autoencoder import KLAutoencoder
from shared.models.zoo.gan import GANDiscriminator, LayoutStyleGenerator
from shared.models.zoo.upsampler import LearnedUpsampler

__all__ = ["GANDiscriminator", "KLAutoencoder", "LayoutStyleGenerator", "LearnedUpsampler"]
