"""Variational autoencoders as scikit-learn estimators."""

__version__ = "0.1.0"

from skvae.anomaly import VAEAnomalyDetector  # noqa: E402
from skvae.impute import VAEImputer  # noqa: E402
from skvae.semi_supervised._classifier import VAEClassifier  # noqa: E402
from skvae.transformer import VAETransformer  # noqa: E402

__all__ = ["VAEAnomalyDetector", "VAEClassifier", "VAEImputer", "VAETransformer"]
