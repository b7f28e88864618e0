"""Semi-supervised learning: :class:`~skvae.VAEClassifier` and its model.

Kingma et al.'s M2 (the label a latent variable, summed out for unlabelled
rows): the estimator (``_classifier``), its labels (``_labels``), the
linear part of its class probabilities (``_linear_part``), its objective
(``_objective``), its network (``_network``) and its inference
(``_inference``).
"""
