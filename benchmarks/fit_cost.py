"""What a default fit costs: VAETransformer() beside PCA, BernoulliRBM and
MLPRegressor, and what its features buy.

Every contender is fitted with its default hyperparameters on the same
rows, on 1 thread, in interleaved rounds (each round fits every contender
once, back to back), so that a burst of load on the machine hits them
alike; the median over rounds is reported, and each fit time as a ratio to
``MLPRegressor()``'s in the same round. ``MLPRegressor()`` is fitted to
reconstruct its input (``fit(X, X)``), the nearest scikit-learn model to
an autoencoder. ``PCA`` and ``BernoulliRBM`` extract as many components as
the VAE has latent dimensions (8); the RBM needs data in [0, 1] and gets
the rows min-max scaled. The accuracy column is ``StandardScaler()`` +
``LogisticRegression()`` trained on each contender's features of the
training rows and scored on held-out rows (the MLP's features are its
hidden layer).

Data: the 10 000 MNIST training images (784 pixels, tested on t10k) and
scikit-learn's 8 x 8 digits (1797 images, 64 pixels; 75/25 split,
``random_state=0``), the README's quick-start data.

Usage::

    python benchmarks/fit_cost.py              # 3 rounds, ~10 min on 1 thread
    python benchmarks/fit_cost.py --quick      # smoke test, < 60 s
    python benchmarks/fit_cost.py --rounds 5 --note "..."

Writes ``benchmarks/results/fit_cost.md`` (``fit_cost_quick.md`` with
``--quick``).
"""

import argparse
import warnings

import numpy as np
import pandas as pd
from _common import (
    RESULTS_DIR,
    command_line,
    interleaved,
    limit_threads,
    load_mnist,
    machine_load,
    markdown_table,
    write_markdown,
)
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skvae import VAETransformer

N_COMPONENTS = 8  # VAETransformer's default latent size


def mlp_features(mlp, X):
    """The hidden layer of a fitted one-layer ``MLPRegressor`` (ReLU)."""
    return np.maximum(X @ mlp.coefs_[0] + mlp.intercepts_[0], 0.0)


def contenders(X, quick):
    """name -> (zero-argument fit, features of rows given the fitted model)."""
    quick_vae = {"max_iter": 3} if quick else {}
    quick_mlp = {"max_iter": 5} if quick else {}
    rbm_scale = MinMaxScaler().fit(X)
    return {
        "MLPRegressor().fit(X, X)": (
            lambda: MLPRegressor(random_state=0, **quick_mlp).fit(X, X),
            mlp_features,
        ),
        "VAETransformer()": (
            lambda: VAETransformer(random_state=0, **quick_vae).fit(X),
            lambda model, rows: model.transform(rows),
        ),
        "PCA(8)": (
            lambda: PCA(N_COMPONENTS, random_state=0).fit(X),
            lambda model, rows: model.transform(rows),
        ),
        "BernoulliRBM(8)": (
            lambda: BernoulliRBM(n_components=N_COMPONENTS, random_state=0).fit(
                rbm_scale.transform(X)
            ),
            lambda model, rows: model.transform(
                np.clip(rbm_scale.transform(rows), 0, 1)
            ),
        ),
    }


def accuracy(features, y_train, y_test):
    F_train, F_test = features
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    return clf.fit(F_train, y_train).score(F_test, y_test)


def run_dataset(name, X_train, X_test, y_train, y_test, rounds, quick):
    """Rows ``[dataset, contender, median s, ratio to MLP, accuracy]``."""
    name = f"{name} ({X_train.shape[0]} x {X_train.shape[1]})"
    fits = contenders(X_train, quick)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        times, _, models = interleaved(
            {label: fit for label, (fit, _) in fits.items()}, rounds
        )
    reference = np.asarray(times["MLPRegressor().fit(X, X)"])
    rows = []
    for label, (_, features) in fits.items():
        model = models[label]
        score = accuracy(
            (features(model, X_train), features(model, X_test)), y_train, y_test
        )
        ratio = np.median(np.asarray(times[label]) / reference)
        rows.append([name, label, np.median(times[label]), ratio, score])
        print(
            f"{name} {label}: {np.median(times[label]):.2f} s, "
            f"x{ratio:.2f} MLP, accuracy {score:.4f}",
            flush=True,
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke test")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--note", help="text put at the top of the report")
    args = parser.parse_args()
    limit_threads(1)
    rounds = 1 if args.quick else args.rounds

    X, y = load_digits(return_X_y=True)
    digits = train_test_split(X.astype(np.float64), y, random_state=0)
    X_train, X_test, y_train, y_test = load_mnist()
    mnist = (X_train, X_test, y_train, y_test)
    if args.quick:
        mnist = (X_train[::20], X_test[::20], y_train[::20], y_test[::20])

    load_before, busy_before = machine_load()
    rows = run_dataset("digits", *digits, rounds, args.quick)
    rows += run_dataset("MNIST", *mnist, rounds, args.quick)
    load_after, busy_after = machine_load()

    table = pd.DataFrame(
        [
            [data, label, f"{seconds:.2f}", f"{ratio:.2f}", f"{score:.4f}"]
            for data, label, seconds, ratio, score in rows
        ],
        columns=[
            "data",
            "contender (defaults)",
            "fit s (median)",
            "fit time / MLPRegressor's (median over rounds)",
            "accuracy of its features",
        ],
    )
    body = [f"**Note.** {args.note}\n"] if args.note else []
    body += [
        __doc__.split("\n\n", 1)[1].split("\nUsage")[0].strip() + "\n",
        f"Rounds: {rounds}. Load average (1 min) before: {load_before:.2f}, "
        f"after: {load_after:.2f}; other busy processes before: "
        f"{', '.join(busy_before) or 'none'}; after: "
        f"{', '.join(busy_after) or 'none'}.\n",
        markdown_table(table),
    ]
    stem = RESULTS_DIR / ("fit_cost_quick" if args.quick else "fit_cost")
    write_markdown(
        stem.with_suffix(".md"),
        "What a default fit costs",
        command_line(),
        "\n".join(body),
    )
    print(f"wrote {stem}.md")


if __name__ == "__main__":
    main()
