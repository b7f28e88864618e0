"""End-to-end demo of skvae on scikit-learn's bundled data.

Run ``python -m skvae [--out DIR] [--quick]``. It

1. compares VAE features with PCA features of the same dimension in a
   ``Pipeline`` with a logistic regression on the digits data;
2. runs a small ``GridSearchCV`` over ``beta``, scored by the held-out
   log-likelihood bound;
3. flags outliers in the breast-cancer data with ``VAEAnomalyDetector``
   beside ``IsolationForest`` (malignant tumours are the rare class);
4. prints a results table and writes its figures as PNG files to ``DIR``
   (default ``skvae_demo_output``).
"""

import argparse
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skvae import VAEAnomalyDetector, VAETransformer  # noqa: E402


def feature_extraction(rows, epochs, n_components=8):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    extractors = {
        f"PCA({n_components})": PCA(n_components=n_components, random_state=0),
        f"VAE({n_components})": VAETransformer(
            n_components=n_components, max_iter=epochs, random_state=0
        ),
    }
    for name, extractor in extractors.items():
        pipe = make_pipeline(
            extractor, StandardScaler(), LogisticRegression(max_iter=2000)
        )
        start = time.perf_counter()
        pipe.fit(X_train, y_train)
        rows.append(
            (
                "digits: accuracy of logistic regression on features",
                name,
                pipe.score(X_test, y_test),
                time.perf_counter() - start,
            )
        )
    return X, y


def beta_search(rows, X, epochs):
    search = GridSearchCV(
        VAETransformer(n_components=8, max_iter=epochs, random_state=0),
        {"beta": [0.5, 1.0, 2.0, 4.0]},
        cv=3,
    )
    start = time.perf_counter()
    search.fit(X)
    elapsed = time.perf_counter() - start
    for beta, score in zip(
        search.cv_results_["param_beta"],
        search.cv_results_["mean_test_score"],
        strict=True,
    ):
        rows.append(
            (
                "digits: held-out log-likelihood (nats)",
                f"beta={beta}",
                score,
                elapsed / 4,
            )
        )
    return search


def outlier_detection(rows, epochs):
    data = load_breast_cancer()
    X, malignant = data.data, data.target == 0
    rng = np.random.RandomState(0)
    # Benign tumours with a 5% sprinkle of malignant ones: the contaminated,
    # unlabeled training set of a real anomaly-detection task.
    benign = np.flatnonzero(~malignant)
    sick = rng.choice(np.flatnonzero(malignant), size=len(benign) // 19, replace=False)
    X_fit = X[np.concatenate([benign, sick])]
    detectors = {
        "VAEAnomalyDetector": VAEAnomalyDetector(max_iter=epochs, random_state=0),
        "IsolationForest": IsolationForest(random_state=0),
    }
    scores = {}
    for name, detector in detectors.items():
        start = time.perf_counter()
        detector.fit(X_fit)
        scores[name] = detector.score_samples(X)
        rows.append(
            (
                "breast cancer: ROC-AUC of flagging malignant",
                name,
                roc_auc_score(malignant, -scores[name]),
                time.perf_counter() - start,
            )
        )
    return X, malignant, detectors["VAEAnomalyDetector"], scores


def make_figures(out, X_digits, y_digits, search, detector, X_bc, malignant, epochs):
    out.mkdir(parents=True, exist_ok=True)
    paths = []

    vae = VAETransformer(n_components=2, max_iter=epochs, random_state=0)
    embeddings = {
        "PCA": PCA(n_components=2).fit_transform(X_digits),
        "VAE (posterior mean)": vae.fit_transform(X_digits),
    }
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), layout="constrained")
    axis_names = {"PCA": "principal component", "VAE (posterior mean)": "latent z"}
    for ax, (name, Z) in zip(axes, embeddings.items(), strict=True):
        points = ax.scatter(
            Z[:, 0], Z[:, 1], c=y_digits, cmap="tab10", s=5, vmin=-0.5, vmax=9.5
        )
        ax.set(
            title=f"digits in 2-D: {name}",
            xlabel=f"{axis_names[name]} 1",
            ylabel=f"{axis_names[name]} 2",
        )
    fig.colorbar(points, ax=axes, label="digit", ticks=range(10))
    paths.append(out / "latent_space.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
    betas = np.asarray(search.cv_results_["param_beta"], dtype=float)
    ax.errorbar(
        betas,
        search.cv_results_["mean_test_score"],
        yerr=search.cv_results_["std_test_score"],
        marker="o",
        capsize=4,
        label="mean over 3 folds, bars: +-1 std",
    )
    ax.set_xscale("log")
    ax.set_xticks(betas, [f"{b:g}" for b in betas])
    ax.minorticks_off()
    ax.set(
        xlabel="beta (weight of the KL term)",
        ylabel="held-out log-likelihood\n(nats per row, higher is better)",
        title="GridSearchCV(VAETransformer(), {'beta': ...})",
    )
    ax.legend(loc="lower left", fontsize="small")
    paths.append(out / "beta_search.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    scores = detector.score_samples(X_bc)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = np.linspace(np.percentile(scores, 1), scores.max(), 40)
    ax.hist(scores[~malignant], bins=bins, alpha=0.6, label="benign")
    ax.hist(scores[malignant], bins=bins, alpha=0.6, label="malignant")
    ax.axvline(detector.offset_, color="k", ls="--", label="offset_")
    ax.set(
        xlabel="score_samples (log-likelihood, nats)",
        ylabel="rows",
        title="VAEAnomalyDetector on breast cancer",
    )
    ax.legend()
    fig.tight_layout()
    paths.append(out / "anomaly_scores.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skvae",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument(
        "--out", default="skvae_demo_output", help="folder for the PNG figures"
    )
    parser.add_argument(
        "--quick", action="store_true", help="few epochs: a fast smoke run"
    )
    args = parser.parse_args(argv)
    epochs = 5 if args.quick else 100
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    rows = []
    X_digits, y_digits = feature_extraction(rows, epochs)
    search = beta_search(rows, X_digits, epochs)
    X_bc, malignant, detector, _ = outlier_detection(rows, epochs)
    paths = make_figures(
        Path(args.out), X_digits, y_digits, search, detector, X_bc, malignant, epochs
    )

    print(f"{'task':<52} {'model':<20} {'result':>9} {'fit s':>7}")
    for task, model, value, seconds in rows:
        print(f"{task:<52} {model:<20} {value:>9.3f} {seconds:>7.1f}")
    print(f"best beta by held-out likelihood: {search.best_params_['beta']}")
    print("figures written to:")
    for path in paths:
        print(f"  {path}")


if __name__ == "__main__":
    main()
