"""Where :class:`~skvae.VAEClassifier` was defined before it moved to
``skvae.semi_supervised``: kept so that models pickled then still load."""

from skvae.semi_supervised._classifier import VAEClassifier

__all__ = ["VAEClassifier"]
