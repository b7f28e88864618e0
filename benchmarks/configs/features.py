"""Feature extraction: logistic regression on VAE, PCA, RBM features and pixels.

(a) scikit-learn's example "Restricted Boltzmann Machine features for digit
    classification" (nudged 8 x 8 digits), with ``VAETransformer`` and PCA
    beside the example's ``BernoulliRBM`` in the same pipeline;
(b) MNIST (10 000 training images, the t10k test set): PCA, BernoulliRBM
    and VAETransformer features of equal dimension (16, 32, 64).

The report (``report`` below) states each protocol in full.

Usage::

    python -m benchmarks features              # full run, ~30 min on 1 thread
    python -m benchmarks features --quick      # smoke test for CI, < 60 s
    python -m benchmarks features --report-only   # rebuild .md/.png from .json
    python -m benchmarks features --variants beta0.5:64,wide:32

``--variants`` adds MNIST VAE rows, comma-separated ``kind:dimension`` with
kind in beta0.5, gaussian, epochs150, wide (default
``beta0.5:64,gaussian:16``; none with ``--quick``). Writes the raw results
``features.json``, then ``features.md`` and ``features.png`` from them; a
rerun with that file in ``--out`` only rewrites the report.
"""

import json
import warnings

import numpy as np
from scipy.ndimage import convolve
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, minmax_scale

from benchmarks.harness import data
from benchmarks.harness.contenders import make
from benchmarks.harness.report import (
    command_line,
    machine_info,
    markdown_table,
    pyplot,
    write_markdown,
)
from benchmarks.harness.timing import timed
from skvae import VAETransformer

# Hidden widths of the VAE on images (the estimator's default (64, 32) is
# sized for tabular data with tens of columns).
IMAGE_HIDDEN = (512, 256)
STORE, KEY = "json", []


def vae(n_components, max_iter, *, likelihood="bernoulli", beta=1.0, hidden=None):
    params = dict(hidden_layer_sizes=hidden or IMAGE_HIDDEN, likelihood=likelihood)
    params |= dict(beta=beta, max_iter=max_iter, n_components=n_components)
    return make("featurizer", "VAE", 0, **params).estimator


def rbm(n_components, n_iter):
    kw = dict(n_components=n_components, n_iter=n_iter)
    return make("featurizer", "BernoulliRBM", 0, **kw).estimator


def add_arguments(parser):
    parser.add_argument(
        "--variants",
        default="beta0.5:64,gaussian:16",
        help="extra MNIST VAE variants, comma-separated kind:dimension with "
        "kind in beta0.5, gaussian, epochs150, wide",
    )


def cases(args):
    yield {}  # one run: both protocols, into one JSON


def evaluate(contender, case_data, case, args):
    variants = [v for v in args.variants.split(",") if v]
    digits, digits_epochs = run_digits(args.quick)
    mnist, (n_train, n_test) = run_mnist(args.quick, variants)
    results = dict(command=command_line(), machine=machine_info())
    results |= dict(digits_epochs=digits_epochs, digits=digits, n_train=n_train)
    return results | dict(n_test=n_test, mnist=mnist)


def variant(kind, k, epochs):
    """The extra MNIST row ``kind:k`` of ``--variants``: (name, features)."""
    if kind == "beta0.5":
        return f"VAE bernoulli, beta=0.5, {epochs} epochs", vae(k, epochs, beta=0.5)
    if kind == "gaussian":
        return f"VAE gaussian, {epochs} epochs", vae(k, epochs, likelihood="gaussian")
    if kind == "epochs150":
        return "VAE bernoulli, 150 epochs", vae(k, 150)
    if kind == "wide":
        features = vae(k, epochs, hidden=(1024, 512))
        return f"VAE bernoulli, (1024, 512), {epochs} epochs", features
    raise ValueError(f"unknown variant {kind}:{k}")


def nudged_digits():
    """The 8 x 8 digits and their copies shifted by one pixel up, left, right
    and down, scaled to [0, 1], split 80/20 with ``random_state=0``."""
    X, y = load_digits(return_X_y=True)
    X = np.asarray(X, dtype=np.float32)
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
    X = minmax_scale(X, feature_range=(0, 1))
    return train_test_split(X, y, test_size=0.2, random_state=0)


def accuracy_row(task, name, k, features, classifier, X_train, X_test, y_train, y_test):
    """Fit ``features`` (or nothing) then ``classifier``: the result row
    ``[name, k, test accuracy, fit seconds, active latents]``."""
    steps = [features] if features is not None else []
    model = make_pipeline(*steps, *classifier)
    with warnings.catch_warnings():
        # Fixed-epoch VAE fits warn that they did not converge.
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        _, seconds = timed(model.fit, X_train, y_train)
    accuracy = model.score(X_test, y_test)
    n_active = ""
    if isinstance(features, VAETransformer):
        n_active = f"{model[0].n_active_components_} / {model[0].n_components}"
    print(f"{task} {name} k={k}: {accuracy:.4f} ({seconds:.1f} s)", flush=True)
    return [name, k, accuracy, seconds, n_active]


def run_digits(quick):
    """(a): result rows and the VAE's epochs."""
    X_train, X_test, y_train, y_test = nudged_digits()
    epochs, max_iter = 100, 10_000
    if quick:  # a fifth of the training rows, short fits: a smoke test
        X_train, y_train = X_train[::5], y_train[::5]
        epochs, max_iter = 5, 200
    raw = [LogisticRegression(C=100.0, max_iter=max_iter)]
    clf = [LogisticRegression(C=6000.0, max_iter=max_iter)]
    contenders = [
        ("raw pixels (64)", 64, None, raw),
        ("BernoulliRBM", 100, rbm(100, 10), clf),
    ]
    for k in (16, 32) if quick else (16, 32, 64):
        contenders.append(
            ("PCA", k, make("featurizer", "PCA", 0, n_components=k).estimator, clf)
        )
    for k in (16,) if quick else (16, 32, 100):
        contenders.append(("VAE bernoulli", k, vae(k, epochs, hidden=(256, 128)), clf))
    if not quick:
        for k in (32, 100):
            gaussian = vae(k, epochs, likelihood="gaussian", hidden=(256, 128))
            contenders.append(("VAE gaussian", k, gaussian, clf))
        for k in (16, 32):
            contenders.append(("BernoulliRBM", k, rbm(k, 10), clf))
    split = (X_train, X_test, y_train, y_test)
    return [accuracy_row("digits", *c, *split) for c in contenders], epochs


def run_mnist(quick, variants):
    """(b): result rows and the numbers of train and test images."""
    X_train, X_test, y_train, y_test = data.load_mnist()
    if quick:
        X_train, y_train = X_train[::5], y_train[::5]
        X_test, y_test = X_test[::5], y_test[::5]
    epochs = 3 if quick else 50
    contenders = [("raw pixels (784)", 784, None)]
    for k in (16,) if quick else (16, 32, 64):
        contenders += [
            ("PCA", k, make("featurizer", "PCA", 0, n_components=k).estimator),
            ("BernoulliRBM", k, rbm(k, 2 if quick else 20)),
            (f"VAE bernoulli, {epochs} epochs", k, vae(k, epochs)),
        ]
    for spec in [] if quick else variants:
        kind, k = spec.split(":")
        name, features = variant(kind, int(k), epochs)
        contenders.append((name, int(k), features))
    split = (X_train, X_test, y_train, y_test)

    def classifier():
        return [StandardScaler(), LogisticRegression(max_iter=3000)]

    rows = [accuracy_row("mnist", *c, classifier(), *split) for c in contenders]
    return rows, (len(X_train), len(X_test))


def table(rows):
    header = ["features", "dimension", "test accuracy", "fit seconds", "active latents"]
    cells = [
        [n, k, f"{a:.4f}", f"{s:.1f}", active or "-"] for n, k, a, s, active in rows
    ]
    return markdown_table(cells, header)


def report(stem, args):
    """Write ``<stem>.md`` and ``<stem>.png`` from ``<stem>.json``."""
    if not stem.with_suffix(".json").exists():
        return
    r = json.loads(stem.with_suffix(".json").read_text())
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
max_iter={r["digits_epochs"]}, random_state=0)`, other parameters default. PCA
cannot have more components than the 64 pixels, so PCA-64 is a rotation of
the raw pixels.

{table(r["digits"])}

## (b) MNIST

Fit on {r["n_train"]} training images, evaluated on {r["n_test"]} t10k test images.
Every representation feeds `StandardScaler()` + `LogisticRegression()`
(C=1, `max_iter=3000`). BernoulliRBM: `learning_rate=0.06`, 20 iterations.
VAE: `VAETransformer(hidden_layer_sizes=(512, 256), likelihood="bernoulli",
random_state=0)` unless the row says otherwise.

{table(r["mnist"])}
"""
    title = "Feature extraction: VAE against PCA, BernoulliRBM and raw pixels"
    header = dict(command=r["command"], machine=r["machine"], note=args.note)
    write_markdown(stem.with_suffix(".md"), title, body, **header)
    plot(stem.with_suffix(".png"), r["digits"], r["mnist"])


def plot(path, digits, mnist):
    plt = pyplot()
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
        ax.set(xlabel="feature dimension", title=title)
        ax.set(ylabel="test accuracy (logistic regression)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
