"""
=====================================================
Anomaly scores, their threshold and pixel attribution
=====================================================

:class:`~skvae.VAEAnomalyDetector` fits a VAE to unlabelled, mostly normal
rows and scores each row by how well the model explains it. As for
scikit-learn's :class:`~sklearn.ensemble.IsolationForest`,
:meth:`~skvae.VAEAnomalyDetector.score_samples` is higher for more normal
rows, ``offset_`` is the threshold set by ``contamination`` and
:meth:`~skvae.VAEAnomalyDetector.predict` returns -1 below it.

Here a few of scikit-learn's digits are damaged with a bright bar, the
detector is trained on the whole contaminated set, and
:meth:`~skvae.VAEAnomalyDetector.score_samples_per_feature` shows which
pixels make a flagged digit anomalous.
"""

# %%
# Damage 3% of the digits
# -----------------------
import os

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score

from skvae import VAEAnomalyDetector

QUICK = os.environ.get("SKVAE_DOCS_QUICK") == "1"

X, _ = load_digits(return_X_y=True)
X = X / 16.0
rng = np.random.RandomState(0)
n_damaged = int(0.03 * len(X))
damaged = rng.choice(len(X), size=n_damaged, replace=False)
is_damaged = np.zeros(len(X), dtype=bool)
is_damaged[damaged] = True
bar_column = np.full(len(X), -1)
images = X.reshape(-1, 8, 8).copy()
for i in damaged:
    # A bright vertical bar, two pixels wide, at a random column.
    bar_column[i] = rng.randint(0, 7)
    images[i, 1:7, bar_column[i] : bar_column[i] + 2] = 1.0
X = images.reshape(-1, 64)

# %%
# Fit a detector for each anomaly score
# -------------------------------------
# ``score_type="likelihood"`` scores a row by its log-likelihood bound;
# ``score_type="reconstruction"`` by minus its squared reconstruction error.
# Both detectors are trained on the whole contaminated set, without labels.
detectors = {}
for score_type in ["likelihood", "reconstruction"]:
    detectors[score_type] = VAEAnomalyDetector(
        contamination=0.05,
        score_type=score_type,
        n_components=8,
        likelihood="bernoulli",
        hidden_layer_sizes=(128, 64),
        learning_rate_init=3e-3,
        max_iter=60 if QUICK else 300,
        random_state=0,
    ).fit(X)

for score_type, detector in detectors.items():
    scores = detector.score_samples(X)
    flagged = detector.predict(X) == -1
    print(
        f"{score_type:>14}: ROC-AUC {roc_auc_score(is_damaged, -scores):.3f}, "
        f"{is_damaged[flagged].sum()} of the {n_damaged} damaged digits flagged"
    )

# %%
# The scores and the threshold
# ----------------------------
# ``offset_`` is the ``contamination`` quantile of the training scores, so 5%
# of the training digits fall below it and are predicted as outliers. The
# Bernoulli log-likelihood of a digit depends a lot on how many grey (neither
# black nor white) pixels it has, which blurs the separation here; the
# reconstruction error isolates the bars better. Which score works best
# depends on the data: compare them on labelled data where you can.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
for ax, (score_type, detector) in zip(axes, detectors.items(), strict=True):
    scores = detector.score_samples(X)
    bins = np.linspace(scores.min(), scores.max(), 50)
    for mask, label in [(~is_damaged, "normal digits"), (is_damaged, "damaged")]:
        ax.hist(scores[mask], bins=bins, density=True, alpha=0.6, label=label)
    ax.axvline(detector.offset_, color="k", linestyle="--", label="offset_")
    ax.set_title(f'score_type="{score_type}"')
    ax.set_xlabel("score_samples (higher = more normal)")
    ax.set_ylabel("density")
axes[0].legend()
plt.show()

# %%
# Which pixels make a digit anomalous
# -----------------------------------
# ``score_samples_per_feature`` splits a row's score over its columns. With
# ``score_type="reconstruction"`` each entry is minus the pixel's squared
# error; with ``"likelihood"`` it is the pixel's expected log-likelihood
# under the posterior. Each is reported relative to its median over the
# training rows (``feature_offset_``), so 0 is a usual value of that pixel.
# The most negative entries are the pixels the model finds least plausible:
# for the lowest-scoring damaged digit they trace the bar.
# The blue outline marks the bar that was painted on the digit.
scores = detectors["reconstruction"].score_samples(X)
flagged_damaged = damaged[scores[damaged] < detectors["reconstruction"].offset_]
rows = flagged_damaged[:3]

fig, axes = plt.subplots(
    len(rows), 3, figsize=(7.5, 2.5 * len(rows)), layout="constrained", squeeze=False
)
for row, row_axes in zip(rows, axes, strict=True):
    row_axes[0].imshow(X[row].reshape(8, 8), cmap="gray_r")
    for ax, detector in zip(row_axes[1:], detectors.values(), strict=True):
        per_pixel = detector.score_samples_per_feature(X[[row]])[0]
        ax.imshow(-per_pixel.reshape(8, 8), cmap="Reds")
    for ax in row_axes:
        bar = Rectangle(
            (bar_column[row] - 0.5, 0.5), 2, 6, fill=False, color="C0", linewidth=2
        )
        ax.add_patch(bar)
        ax.set_xticks([])
        ax.set_yticks([])
axes[0, 0].set_title("flagged digit")
axes[0, 1].set_title("-per feature score\n(likelihood)")
axes[0, 2].set_title("-per feature score\n(reconstruction)")
plt.show()
