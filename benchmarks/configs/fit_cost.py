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

    python -m benchmarks fit_cost              # 3 rounds, ~10 min on 1 thread
    python -m benchmarks fit_cost --quick      # smoke test, < 60 s
    python -m benchmarks fit_cost --rounds 5 --note "..."
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from benchmarks.harness import data
from benchmarks.harness.contenders import make
from benchmarks.harness.report import markdown_table, protocol, write_markdown
from benchmarks.harness.timing import interleaved, machine_load

N_COMPONENTS = 8  # VAETransformer's default latent size


def mlp_features(mlp, X):
    """The hidden layer of a fitted one-layer ``MLPRegressor`` (ReLU)."""
    return np.maximum(X @ mlp.coefs_[0] + mlp.intercepts_[0], 0.0)


def contenders(X, quick):
    """name -> (zero-argument fit, features of rows given the fitted model)."""
    kw = {"max_iter": 3} if quick else {}  # the VAE's quick budget: 3 epochs
    # BernoulliRBM's own defaults (not the RBM example's learning rate).
    rbm = BernoulliRBM(n_components=N_COMPONENTS, random_state=0)
    quick_mlp = {"max_iter": 5} if quick else {}
    rbm_scale = MinMaxScaler().fit(X)
    return {
        "MLPRegressor().fit(X, X)": (
            lambda: MLPRegressor(random_state=0, **quick_mlp).fit(X, X),
            mlp_features,
        ),
        "VAETransformer()": (
            lambda: make("featurizer", "VAE", 0, n_components=8, **kw).fit(X),
            lambda model, rows: model.transform(rows),
        ),
        "PCA(8)": (
            lambda: make("featurizer", "PCA", 0, n_components=N_COMPONENTS).fit(X),
            lambda model, rows: model.transform(rows),
        ),
        "BernoulliRBM(8)": (
            lambda: rbm.fit(rbm_scale.transform(X)),
            lambda model, rows: model.transform(
                np.clip(rbm_scale.transform(rows), 0, 1)
            ),
        ),
    }


def accuracy(features, y_train, y_test):
    F_train, F_test = features
    lr = make("classifier", "LogisticRegression", 0, max_iter=3000).estimator
    clf = make_pipeline(StandardScaler(), lr)
    return clf.fit(F_train, y_train).score(F_test, y_test)


def run_dataset(name, X_train, X_test, y_train, y_test, rounds, quick):
    """Rows ``[dataset, contender, median s, ratio to MLP, accuracy]``."""
    name = f"{name} ({X_train.shape[0]} x {X_train.shape[1]})"
    fits = contenders(X_train, quick)
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


def add_arguments(parser):
    parser.add_argument("--rounds", type=int, default=3)


def run(args, path):
    rounds = 1 if args.quick else args.rounds

    X, y = load_digits(return_X_y=True)
    digits = train_test_split(X.astype(np.float64), y, random_state=0)
    X_train, X_test, y_train, y_test = data.load_mnist()
    mnist = (X_train, X_test, y_train, y_test)
    if args.quick:
        mnist = (X_train[::20], X_test[::20], y_train[::20], y_test[::20])

    load_before, busy_before = machine_load()
    rows = run_dataset("digits", *digits, rounds, args.quick)
    rows += run_dataset("MNIST", *mnist, rounds, args.quick)
    load_after, busy_after = machine_load()

    header = ["data", "contender (defaults)", "fit s (median)"]
    header += ["fit time / MLPRegressor's (median over rounds)"]
    header += ["accuracy of its features"]
    cells = [
        [data, label, f"{seconds:.2f}", f"{ratio:.2f}", f"{score:.4f}"]
        for data, label, seconds, ratio, score in rows
    ]
    body = [
        protocol(__doc__),
        f"Rounds: {rounds}. Load average (1 min) before: {load_before:.2f}, "
        f"after: {load_after:.2f}; other busy processes before: "
        f"{', '.join(busy_before) or 'none'}; after: "
        f"{', '.join(busy_after) or 'none'}.\n",
        markdown_table(cells, header),
    ]
    title = "What a default fit costs"
    write_markdown(path.with_suffix(".md"), title, "\n".join(body), note=args.note)


def report(path, args):
    """The report is written by the run (no raw file is kept)."""
