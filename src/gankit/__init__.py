"""gankit: Generative Adversarial Networks as in Goodfellow et al. (2014)."""

from gankit.errors import GankitError

__all__ = ["GankitError"]
__version__ = "0.1.0"
