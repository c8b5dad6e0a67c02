"""``gankit lab``: the lectures' GAN trained live in a local page, every view of the theory moving with it.

``session`` drives gankit's own ``Trainer`` (``gankit.train``) in one training thread and answers
the page's commands through a bounded queue; ``views`` computes what the page draws (D's heat map,
D* from the known density and a KDE of p_g, G's manifold, the gradient arrows, the divergences);
``server`` serves the page and the JSON API on the loopback interface, under a token.
"""

from gankit.lab.problems import PROBLEMS
from gankit.lab.session import Session

__all__ = ["PROBLEMS", "Session"]
