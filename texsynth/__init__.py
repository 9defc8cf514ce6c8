"""texsynth: multiscale neural texture synthesis and friends (DeepDream, CPPN, VAE)."""

__version__ = "0.1.0"
