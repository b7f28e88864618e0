"""End-to-end demo of skvae on data shipped with it and with scikit-learn.

Run ``python -m skvae [--out DIR] [--quick]``. It

1. takes the Palmer penguins table as it is (categories, integers, gaps)
   into ``VAETransformer`` and ``VAEAnomalyDetector``: a 2-D latent space,
   generated penguins as a DataFrame in the table's own types, and the
   cells that make the most unusual penguins unusual; then hides a fifth
   of its cells and fills them back with ``VAEImputer``;
2. compares VAE features with PCA features of the same dimension in a
   ``Pipeline`` with a logistic regression on the digits data;
3. runs a small grid search over ``beta``, scored by the held-out
   log-likelihood bound, with ``StackedGridSearchCV`` (``GridSearchCV``'s
   results, its fits trained together as one stacked model);
4. flags malignant tumours in the breast-cancer data with
   ``VAEAnomalyDetector`` beside ``IsolationForest``, on the complete
   table and with 30% of its cells missing;
5. learns the penguins' species from 10% of the labels and the unlabelled
   rest with ``VAEClassifier`` (semi-supervised, Kingma et al.'s M2), beside
   a classifier of the labelled rows alone, draws penguins of a chosen
   species and completes rows of which island and sex are given;
6. prints results as they come and writes its figures as PNG files to
   ``DIR`` (default ``skvae_demo_output``).

The figures need matplotlib (``pip install "skvae[demo]"``); without it the
demo prints its results, says that it skipped the figures, and exits normally.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skvae import (
    VAEAnomalyDetector,
    VAEClassifier,
    VAEImputer,
    VAETransformer,
)
from skvae.datasets import load_penguins
from skvae.model_selection import StackedGridSearchCV

NO_MATPLOTLIB = (
    "matplotlib is not installed: the demo prints its results but skips its "
    'figures (pip install "skvae[demo]", or pip install matplotlib, for them).'
)


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend, or None
    when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class Results(list):
    """Result rows, each printed as soon as it is known."""

    def append(self, row):
        task, model, value, seconds = row
        if not self:
            print(f"\n{'task':<56} {'model':<32} {'result':>9} {'fit s':>7}")
        print(f"{task:<56} {model:<32} {value:>9.3f} {seconds:>7.1f}", flush=True)
        super().append(row)


def penguins_table(epochs, budget):
    """The raw penguins table in, tables out: what only a model of mixed
    columns with gaps can do."""
    penguins = load_penguins()
    n_missing = int(penguins.isna().sum().sum())
    print(
        f"Palmer penguins, as shipped: {len(penguins)} rows, {n_missing} missing cells"
    )
    print("column types:", dict(penguins.dtypes.astype(str)))
    start = time.perf_counter()
    vae = VAETransformer(n_components=2, random_state=0, **budget)
    Z = vae.fit_transform(penguins)
    seconds = time.perf_counter() - start
    print(
        f"\nVAETransformer(n_components=2).fit(penguins): {seconds:.1f} s; "
        "categorical columns found:",
        list(penguins.columns[vae.is_categorical_]),
    )
    print(
        "each column's likelihood (likelihood='auto'):",
        dict(zip(penguins.columns, vae.column_likelihoods_, strict=True)),
    )
    print("\nvae.sample(5, random_state=0): new penguins, in the table's types")
    print(vae.sample(5, random_state=0).to_string())
    drawn = vae.sample(1000, random_state=1)
    print(
        "years among 1000 sampled penguins (a discrete column: only its values):",
        dict(drawn["year"].value_counts().sort_index()),
    )

    detector = VAEAnomalyDetector(max_iter=epochs, random_state=0).fit(penguins)
    scores = detector.score_samples(penguins)
    per_feature = pd.DataFrame(
        detector.score_samples_per_feature(penguins), columns=penguins.columns
    )
    unusual = np.argsort(scores)[:3]
    print("\nThe 3 most unusual penguins (VAEAnomalyDetector), and the cell that")
    print("score_samples_per_feature blames most (0 = usual for that column):")
    for row in unusual:
        column = per_feature.iloc[row].idxmin()
        print(
            f"  row {row}: score {scores[row]:.1f}; {column} = "
            f"{penguins.iloc[row][column]} ({per_feature.iloc[row][column]:.1f})"
        )
    return penguins, Z


def penguins_imputation(rows, penguins, budget):
    """Hide a fifth of the observed cells of the raw table and fill them
    back: numbers and levels, against each column's mean or mode."""
    rng = np.random.RandomState(0)
    hidden = penguins.notna().to_numpy() & (rng.uniform(size=penguins.shape) < 0.2)
    gappy = penguins.mask(hidden)
    start = time.perf_counter()
    imputer = VAEImputer(random_state=0, **budget).set_output(transform="pandas")
    filled = imputer.fit_transform(gappy)
    seconds = time.perf_counter() - start
    numeric_error = {"column mean": [], "VAEImputer": []}
    level_hits = {"most frequent level": [], "VAEImputer": []}
    for j, column in enumerate(penguins.columns):
        rows_hidden = hidden[:, j]
        true = penguins[column][rows_hidden]
        if isinstance(penguins[column].dtype, pd.CategoricalDtype):
            level_hits["most frequent level"] += list(true == gappy[column].mode()[0])
            level_hits["VAEImputer"] += list(true == filled[column][rows_hidden])
        else:
            true, scale = true.to_numpy(float), gappy[column].std()
            numeric_error["column mean"] += list(
                ((gappy[column].mean() - true) / scale) ** 2
            )
            numeric_error["VAEImputer"] += list(
                ((filled[column][rows_hidden].to_numpy(float) - true) / scale) ** 2
            )
    task = f"penguins, {hidden.sum()} cells hidden: "
    for measure, results in [
        ("numbers, MSE (std units)", numeric_error),
        ("levels, accuracy", level_hits),
    ]:
        for name, values in results.items():
            fit_seconds = seconds if name == "VAEImputer" else 0.0
            rows.append((task + measure, name, np.mean(values), fit_seconds))


def semi_supervised(rows, penguins, epochs):
    """The species from 10% of the labels plus the unlabelled rows, scored
    on the rows whose label was hidden; then penguins of one species."""
    X, species = penguins.drop(columns="species"), penguins["species"]
    labelled = np.random.RandomState(0).uniform(size=len(X)) < 0.1
    y = np.where(labelled, species.astype(object), -1).astype(object)
    task = f"penguins species, {labelled.sum()} labels: accuracy on the rest"
    start = time.perf_counter()
    # 40 epochs of 11 mini-batches: enough on a table this small.
    clf = VAEClassifier(max_iter=min(epochs, 40), random_state=0).fit(X, y)
    accuracy = np.mean(clf.transduction_[~labelled] == species[~labelled])
    rows.append((task, "VAEClassifier (+ unlabelled)", accuracy, _since(start)))
    start = time.perf_counter()
    supervised = HistGradientBoostingClassifier(
        categorical_features="from_dtype", min_samples_leaf=2, random_state=0
    )
    # One thread, as the VAEs use: OpenMP's spinning threads stall on a
    # busy machine.
    with threadpool_limits(limits=1, user_api="openmp"):
        supervised.fit(X[labelled], species[labelled])
    accuracy = np.mean(supervised.predict(X[~labelled]) == species[~labelled])
    rows.append((task, "HistGradientBoosting (labelled)", accuracy, _since(start)))
    gentoo = clf.sample(200, y="Gentoo", random_state=0)
    share = np.mean(clf.predict(gentoo) == "Gentoo")
    print(
        f"clf.sample(200, y='Gentoo'): {share:.0%} of them classified Gentoo; "
        "three of them:"
    )
    print(gentoo.head(3).to_string())
    # Conditional generation beyond the class: the other columns of rows
    # whose island and sex are given (one pass of the encoder, no rejection).
    known = pd.DataFrame({"island": ["Torgersen"] * 3, "sex": ["male"] * 3})
    print("clf.sample_remaining_columns(island=Torgersen, sex=male):")
    print(clf.sample_remaining_columns(known, random_state=0).to_string())


def _since(start):
    return time.perf_counter() - start


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
    search = StackedGridSearchCV(
        # GridSearchCV's search, its fits trained together as one stacked
        # model; each stops when the bound on its own validation split stops
        # rising, as in the README's quick start.
        VAETransformer(
            n_components=8, max_iter=epochs, early_stopping=True, random_state=0
        ),
        {"beta": [0.5, 1.0, 2.0, 4.0]},
        cv=2,
        n_jobs=-1,  # every core for the stacked training
        # Only the scores are shown: no refit of the best beta on every row.
        refit=False,
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
    """Malignant tumours as the rare class, on the complete table and with
    30% of the cells removed at random (skvae models the gaps; the forest
    needs an imputer in front)."""
    data = load_breast_cancer()
    X, malignant = data.data, data.target == 0
    rng = np.random.RandomState(0)
    # Benign tumours with a 5% sprinkle of malignant ones: the contaminated,
    # unlabeled training set of a real anomaly-detection task.
    benign = np.flatnonzero(~malignant)
    sick = rng.choice(np.flatnonzero(malignant), size=len(benign) // 19, replace=False)
    fit_rows = np.concatenate([benign, sick])
    X_gappy = X.copy()
    X_gappy[rng.uniform(size=X.shape) < 0.3] = np.nan
    tasks = {
        "breast cancer: ROC-AUC of flagging malignant": (X, {}),
        "  ... with 30% of the cells missing": (
            X_gappy,
            {"IterativeImputer+IsolationForest": [IterativeImputer(random_state=0)]},
        ),
    }
    for task, (data_X, imputers) in tasks.items():
        detectors = {
            "VAEAnomalyDetector": VAEAnomalyDetector(max_iter=epochs, random_state=0),
            **{
                name: make_pipeline(*steps, IsolationForest(random_state=0))
                for name, steps in (imputers or {"IsolationForest": []}).items()
            },
        }
        for name, detector in detectors.items():
            start = time.perf_counter()
            detector.fit(data_X[fit_rows])
            scores = detector.score_samples(data_X)
            rows.append(
                (
                    task,
                    name,
                    roc_auc_score(malignant, -scores),
                    time.perf_counter() - start,
                )
            )
            if not imputers and name == "VAEAnomalyDetector":
                kept = detector
    return X, malignant, kept


def make_figures(
    plt,
    out,
    penguins,
    Z_penguins,
    X_digits,
    y_digits,
    search,
    detector,
    X_bc,
    malignant,
    epochs,
):
    """The demo's four figures, written to ``out``; their paths."""
    out.mkdir(parents=True, exist_ok=True)
    return [
        _penguins_figure(plt, out, penguins, Z_penguins),
        _digits_figure(plt, out, X_digits, y_digits, epochs),
        _beta_figure(plt, out, search),
        _scores_figure(plt, out, detector, X_bc, malignant),
    ]


def _save(plt, fig, path):
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _penguins_figure(plt, out, penguins, Z_penguins):
    fig, ax = plt.subplots(figsize=(5.5, 4.2), layout="constrained")
    for species, marker in zip(penguins["species"].cat.categories, "o^s", strict=True):
        rows = (penguins["species"] == species).to_numpy()
        ax.scatter(*Z_penguins[rows].T, s=12, marker=marker, label=species)
    ax.set(
        xlabel="latent z 1",
        ylabel="latent z 2",
        title="penguins, the raw table in (categories, gaps):\n"
        "VAETransformer(n_components=2)",
    )
    ax.legend(title="species")
    return _save(plt, fig, out / "penguins_latent.png")


def _digits_figure(plt, out, X_digits, y_digits, epochs):
    # Half the epochs of the comparison above: a picture, not a measurement.
    vae = VAETransformer(n_components=2, max_iter=max(epochs // 2, 1), random_state=0)
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
    return _save(plt, fig, out / "latent_space.png")


def _beta_figure(plt, out, search):
    fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
    betas = np.asarray(search.cv_results_["param_beta"], dtype=float)
    ax.errorbar(
        betas,
        search.cv_results_["mean_test_score"],
        yerr=search.cv_results_["std_test_score"],
        marker="o",
        capsize=4,
        label="mean over 2 folds, bars: +-1 std",
    )
    ax.set_xscale("log")
    ax.set_xticks(betas, [f"{b:g}" for b in betas])
    ax.minorticks_off()
    ax.set(
        xlabel="beta (weight of the KL term)",
        ylabel="held-out log-likelihood\n(nats per row, higher is better)",
        title="StackedGridSearchCV(VAETransformer(), {'beta': ...})",
    )
    ax.legend(loc="lower left", fontsize="small")
    return _save(plt, fig, out / "beta_search.png")


def _scores_figure(plt, out, detector, X_bc, malignant):
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
    return _save(plt, fig, out / "anomaly_scores.png")


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
    plt = pyplot()
    if plt is None:
        print(NO_MATPLOTLIB, flush=True)
    epochs = 5 if args.quick else 100
    budget = {"max_iter": 5} if args.quick else {}  # else the default "auto"
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    penguins, Z_penguins = penguins_table(epochs, budget)
    rows = Results()
    penguins_imputation(rows, penguins, budget)
    X_digits, y_digits = feature_extraction(rows, epochs)
    search = beta_search(rows, X_digits, epochs)
    X_bc, malignant, detector = outlier_detection(rows, epochs)
    semi_supervised(rows, penguins, epochs)
    print(f"best beta by held-out likelihood: {search.best_params_['beta']}")
    print(
        "\nOn the small breast-cancer set IsolationForest is as good or better;"
        "\nacross 43 ADBench datasets VAEAnomalyDetector has the best mean ROC-AUC,"
        "\nand with missing cells it beats every imputer pipeline measured, and on"
        "\nMNIST VAE features beat PCA's: see benchmarks/results/ (anomaly.md,"
        "\nmissing.md, features.md)."
    )
    if plt is None:
        print(f"\n{NO_MATPLOTLIB}")
        return
    paths = make_figures(
        plt,
        Path(args.out),
        penguins,
        Z_penguins,
        X_digits,
        y_digits,
        search,
        detector,
        X_bc,
        malignant,
        epochs,
    )
    print("figures written to:")
    for path in paths:
        print(f"  {path}")


if __name__ == "__main__":
    main()
