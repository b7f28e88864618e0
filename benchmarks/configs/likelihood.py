"""Test log-likelihood of a Bernoulli VAE on statically binarized MNIST.

The classic VAE density benchmark (Burda, Grosse & Salakhutdinov, *Importance
Weighted Autoencoders*, ICLR 2016): a 784-200-200-50 ``VAETransformer`` with
a Bernoulli likelihood, trained as a VAE (ELBO) or an IWAE (``--iwae-k``
samples), on the official train + valid rows (60000; ``fit`` holds out a
random 1/6 for early stopping, so it trains on 50000 as the paper). Its test
NLL is the importance-weighted bound with ``--k-eval`` fresh samples per
row; the bound for each smaller k of ``K_GRID`` averages the disjoint
groups of k of them (k = 1: the ELBO). ``score_samples`` with
``n_mc_samples=k_eval`` set after fit is checked against that estimate on
the first ``--check-rows`` test rows.

The richer latent models (on request: ``standard``, ``vamp``, ``flow``,
``hierarchy``, ``vamp_flow_hierarchy``; see ``LATENT_MODELS``) are the
same network trained on the ELBO, the textbook VAE (``standard``) or with
a VampPrior, an inverse autoregressive flow posterior, a two-level model
or all three, compared at one budget of training *CPU* time
(``--cpu-minutes``, process time with one torch thread: a share of a busy
machine does not change it) on one fixed random subset of the test rows
(``--test-rows``), so that each contender's test bound can be compared
with the standard VAE's row by row.

Each model writes ``<out>/<name>_<model>.json`` (``--name``, by default
``likelihood``); the report and its plot are rebuilt from all the JSON
files of that name, so the models can run in several processes, and a
rerun skips the models whose file is there: it resumes the study.

Usage::

    python -m benchmarks likelihood --quick                  # smoke test
    python -m benchmarks likelihood --contenders vae --epochs 300
    python -m benchmarks likelihood --contenders iwae --epochs 100 --iwae-k 5
    python -m benchmarks likelihood --report-only
    python -m benchmarks likelihood --name likelihood_latent \\
        --contenders standard,vamp --cpu-minutes 6 --test-rows 500 \\
        --epochs-per-call 2 --check-rows 50

Own options: see ``python -m benchmarks likelihood --help``.
"""

import datetime
import json
import math
import pickle
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import ConvergenceWarning

from benchmarks.harness import data
from benchmarks.harness.report import (
    command_line,
    machine_info,
    markdown_table,
    pyplot,
    write_markdown,
)
from benchmarks.harness.timing import timed, uptime
from skvae import VAETransformer

CONTENDERS = ["vae", "iwae"]
CONTENDER, KEY, STORE = "model", ["model"], "json"
QUICK = {"epochs": 3, "k_eval": 500, "check_rows": 50}

# The latent models compared at one budget: the estimator's parameters
# beyond the network's. "standard" is "vae" under that protocol.
LATENT_MODELS = {
    "standard": {},
    "vamp": dict(prior="vamp"),  # n_pseudo_inputs="auto": 100 here
    "flow": dict(n_flows=2),
    # Two layers of equal size, as Tomczak & Welling's (40 and 40).
    "hierarchy": dict(n_top_components=50),
    # Chosen before any result, as the one with every option.
    "vamp_flow_hierarchy": dict(prior="vamp", n_flows=2, n_top_components=50),
}
ON_REQUEST = list(LATENT_MODELS)

# Numbers of importance samples at which the test bound is reported.
K_GRID = (1, 5, 50, 500, 5000)

# Test NLL in nats, static binarization, one stochastic layer 784-200-200-50,
# models trained with k importance samples (k = 1 is the VAE), NLL estimated
# with k = 5000 (Burda et al., 2016, as quoted in ../shared/data/README.md).
PUBLISHED_NLL = {1: 88.71, 5: 87.63, 50: 87.10}

# Rows and importance samples evaluated at once by ``iwae_bounds``.
ROWS_PER_CHUNK = 50
SAMPLES_PER_CHUNK = 500

# Step decay of the learning rate, applied through warm starts: (fraction of
# the training budget after which it applies, factor on --learning-rate).
LR_STEPS = ((0.0, 1.0), (0.5, 1 / 3), (0.8, 1 / 10))

# Epochs per warm-started fit call between two checks of the time budget
# (by default; --epochs-per-call).
EPOCHS_PER_CALL = 10


def load_binarized_mnist():
    """The statically binarized MNIST as float32 arrays of 0 and 1: 50000,
    10000 and 10000 rows of 784 pixels (train, valid, test)."""
    path = data.data_dir() / "binarized_mnist" / "binarized_mnist_packbits.npz"
    with np.load(path, allow_pickle=False) as arrays:
        return tuple(
            np.unpackbits(arrays[f"{part}_x_packed"], axis=1)[:, :784].astype(
                np.float32
            )
            for part in ("train", "valid", "test")
        )


# ---------------------------------------------------------- skvae internals
# The only code of this study that uses skvae's private API: the torch
# module of a fitted estimator (``est.net_.module_``), which maps a batch to
# q(z | x) and has ``decode(z)`` (p(x | z)) and ``prior()`` (p(z)), all
# torch distributions. When the library renames them, adapt this function.


def log_importance_weights(est, x, n_samples, generator):
    """``n_samples`` log importance weights log p(x | z) + log p(z) -
    log q(z | x), z ~ q(z | x) drawn from ``generator``, for each row of the
    float32 tensor ``x``: a float64 tensor of shape (n_samples, n_rows)."""
    vae = est.net_.module_.eval()
    with torch.no_grad():
        q = vae(x)  # the posterior of every latent layer
        log_w = []
        for start in range(0, n_samples, SAMPLES_PER_CHUNK):
            m = min(SAMPLES_PER_CHUNK, n_samples - start)
            draw = q.draw(q.noise((m,), generator))  # codes (m, n_rows, d)
            log_w.append(
                vae.decode(draw.z).log_prob(x) + draw.log_p - draw.log_q
            )  # (m, n_rows)
    return torch.cat(log_w).double()


# ----------------------------------------------------------------- running


def fit_with_budget(
    est,
    X,
    max_epochs,
    minutes,
    learning_rate,
    patience,
    clock=time.perf_counter,
    epochs_per_call=EPOCHS_PER_CALL,
):
    """Fit ``est`` by warm-started calls of at most ``epochs_per_call``
    epochs, until ``max_epochs``, before a call that would overrun
    ``minutes`` (None: no limit) of ``clock`` (wall time by default,
    ``time.process_time`` for CPU time), or when the validation ELBO has not
    improved for ``patience`` epochs; the learning rate follows ``LR_STEPS``
    (the larger of the time and epoch fractions used). Returns the
    ``[(first_epoch, learning_rate)]`` schedule and whether training stopped
    on the validation criterion."""
    budget = math.inf if minutes is None else 60 * minutes
    start = clock()
    lr_schedule = []
    while not hasattr(est, "n_iter_") or est.n_iter_ < max_epochs:
        n_done = getattr(est, "n_iter_", 0)
        elapsed = clock() - start
        n_epochs = min(epochs_per_call, max_epochs - n_done)
        if n_done:
            per_epoch = elapsed / n_done
            n_epochs = min(n_epochs, int((budget - elapsed) / per_epoch))
            if n_epochs < 1:
                break
        progress = max(elapsed / budget, n_done / max_epochs)
        lr = learning_rate * [f for at, f in LR_STEPS if progress >= at][-1]
        if not lr_schedule or lr_schedule[-1][1] != lr:
            lr_schedule.append((n_done + 1, lr))
        est.set_params(warm_start=True, max_iter=n_epochs, learning_rate_init=lr)
        with warnings.catch_warnings():
            # Each call stops at max_iter by design.
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X)
        scores = est.validation_scores_
        if len(scores) - 1 - int(np.argmax(scores)) >= patience:
            return lr_schedule, True
    return lr_schedule, False


def iwae_bounds(est, X, k, k_grid=K_GRID, seed=0, minutes=None):
    """``{k': bound per row in nats}`` for each k' <= k of ``k_grid``: the
    mean over the ``k // k'`` disjoint groups of k' of ``k`` fresh log
    importance weights per row (unbiased, with less variance than one
    group). Rows go ``ROWS_PER_CHUNK`` at a time, in order; no chunk starts
    after ``minutes`` (None: no limit), so the bounds cover a prefix of X."""
    generator = torch.Generator().manual_seed(seed)
    ks = [kk for kk in k_grid if kk <= k]
    bounds = {kk: np.empty(len(X)) for kk in ks}
    deadline = math.inf if minutes is None else time.perf_counter() + 60 * minutes
    n_done = 0
    for start in range(0, len(X), ROWS_PER_CHUNK):
        if time.perf_counter() > deadline:
            break
        x = torch.from_numpy(X[start : start + ROWS_PER_CHUNK])
        log_w = log_importance_weights(est, x, k, generator)  # (k, n_rows)
        for kk in ks:
            groups = log_w[: (k // kk) * kk].reshape(k // kk, kk, -1)
            bound = torch.logsumexp(groups, dim=1) - math.log(kk)
            bounds[kk][start : start + len(x)] = bound.mean(dim=0).numpy()
        n_done = start + len(x)
    return {kk: b[:n_done] for kk, b in bounds.items()}


def run_model(model, X_fit, X_test, args):
    """Fit one model, estimate its test likelihood, return a result dict."""
    n_importance_samples = args.iwae_k if model == "iwae" else 1
    kw = dict(n_components=50, hidden_layer_sizes=(200, 200), random_state=0)
    kw |= LATENT_MODELS.get(model, {})
    kw |= dict(likelihood="bernoulli", n_importance_samples=n_importance_samples)
    kw |= dict(batch_size=args.batch_size, learning_rate_init=args.learning_rate)
    kw |= dict(early_stopping=True, validation_fraction=1 / 6)
    kw |= dict(n_iter_no_change=args.patience, verbose=2 if args.verbose else 0)
    est = VAETransformer(**kw)
    print(f"[{model}] fitting {est}", flush=True)
    uptime_start = uptime()
    minutes = args.minutes if args.cpu_minutes is None else args.cpu_minutes
    budget = (args.epochs, minutes, args.learning_rate, args.patience)
    clock = time.perf_counter if args.cpu_minutes is None else time.process_time
    cpu_start = time.process_time()
    (lr_schedule, converged), fit_seconds = timed(
        fit_with_budget,
        est,
        X_fit,
        *budget,
        clock=clock,
        epochs_per_call=args.epochs_per_call,
    )
    fit_cpu_seconds = time.process_time() - cpu_start
    per_epoch = fit_seconds / est.n_iter_
    done = f"{est.n_iter_} epochs in {fit_seconds:.0f} s ({per_epoch:.1f} s/epoch)"
    print(f"[{model}] {done}", flush=True)
    if args.save_model:
        Path(args.save_model).mkdir(parents=True, exist_ok=True)
        with open(Path(args.save_model) / f"likelihood_{model}.pkl", "wb") as f:
            pickle.dump(est, f)

    # The test set is sorted by class: a random order makes any prefix of it
    # (when the time limit stops the estimate early) a uniform sample.
    X_test = X_test[np.random.RandomState(0).permutation(len(X_test))]
    X_test = X_test[: args.test_rows]  # a fixed random subset (None: all)
    bounds, eval_seconds = timed(
        iwae_bounds, est, X_test, args.k_eval, minutes=args.eval_minutes
    )
    n_eval = len(bounds[1])
    done = f"on {n_eval} rows in {eval_seconds:.0f} s"
    print(f"[{model}] test bounds (k={args.k_eval}) {done}", flush=True)

    rows = slice(0, min(args.check_rows, n_eval))
    # n_mc_samples is fixed at fit (n_mc_samples_): set the fitted value.
    est.n_mc_samples_ = args.k_eval
    library_k, library_seconds = timed(est.score_samples, X_test[rows])
    est.n_mc_samples_ = 1
    library_1 = est.score_samples(X_test[rows])
    params = est.get_params()
    r = {"model": model, "name": args.name}
    r["training_bound"] = (
        f"IWAE, k={args.iwae_k}" if n_importance_samples > 1 else "ELBO"
    )
    r["n_importance_samples"] = n_importance_samples
    r["params"] = {k: v for k, v in params.items() if not k.startswith("verbose")}
    r |= dict(n_fit_rows=len(X_fit), n_test_rows=n_eval, lr_schedule=lr_schedule)
    r |= dict(minutes=minutes, n_iter=int(est.n_iter_))
    r["budget_clock"] = "wall" if args.cpu_minutes is None else "CPU"
    r["epochs_per_call"] = args.epochs_per_call
    r |= dict(uptime_start=uptime_start, uptime_end=uptime())
    r["fit_cpu_seconds"] = fit_cpu_seconds
    r["latent_model"] = LATENT_MODELS.get(model, {})
    r["n_pseudo_inputs"] = est.n_pseudo_inputs_
    r["best_epoch"] = int(np.argmax(est.validation_scores_)) + 1
    r |= dict(converged=converged, fit_seconds=fit_seconds)
    r["seconds_per_epoch"] = per_epoch
    r["loss_curve"] = [float(v) for v in est.loss_curve_]
    r["validation_scores"] = [float(v) for v in est.validation_scores_]
    r["n_active_components"] = int(est.n_active_components_)
    r |= dict(k_eval=args.k_eval, eval_seconds=eval_seconds)
    r["test_nll"] = {str(k): float(-b.mean()) for k, b in bounds.items()}
    sem = {str(k): float(b.std(ddof=1) / np.sqrt(len(b))) for k, b in bounds.items()}
    r |= dict(test_nll_sem=sem, check_rows=rows.stop)
    # Per row, for paired comparisons of models on the same rows.
    r["test_bound_per_row"] = [float(v) for v in bounds[max(bounds)]]
    r["check_own_nll"] = float(-bounds[max(bounds)][rows].mean())
    r["check_own_elbo"] = float(bounds[1][rows].mean())
    r["check_score_samples_k"] = float(library_k.mean())
    r["check_score_samples_1"] = float(library_1.mean())
    r |= dict(check_score_samples_seconds=library_seconds, command=command_line())
    now = datetime.datetime.now(datetime.timezone.utc)
    return r | dict(machine=machine_info(), date=now.isoformat(" ", "seconds"))


# ------------------------------------------------------------------ report

INTRO = (
    "Test negative log-likelihood of `VAETransformer(likelihood='bernoulli', "
    "n_components=50, hidden_layer_sizes=(200, 200))` on statically "
    "binarized MNIST, estimated with the importance-weighted bound "
    "(nats, lower is better; the test ELBO is minus the k=1 bound). "
    "Published: Burda et al. (2016), one stochastic layer, static "
    "binarization, model trained with the same k as ours, NLL with "
    "k=5000, 3280 passes over the data.\n"
)
PROTOCOL = (
    ". Differences of protocol: Burda et al. trained for 3280 passes "
    "with a learning rate decayed from 1e-3 in 8 stages, tanh units and "
    "the official 50000/10000 split; here the training time is capped "
    "(epochs above), skvae's hidden units are SiLU, the learning rate "
    "steps down at 50% and 80% of the budget, and early stopping holds "
    "out a random 10000 of the 60000 train + valid rows (the model kept "
    "is the best epoch on it within the last warm-started call, so it "
    "can be a few epochs past the overall best). When the test "
    "estimate is time-capped, it covers a uniform random subset of the "
    "test rows (column 'test rows').\n"
)


LATENT_INTRO = (
    "Test negative log-likelihood of `VAETransformer(likelihood='bernoulli', "
    "n_components=50, hidden_layer_sizes=(200, 200))` on statically "
    "binarized MNIST with each latent model (`standard`: the textbook VAE; "
    "`vamp`: `prior='vamp'`, `n_pseudo_inputs='auto'`; `flow`: "
    "`n_flows=2`; `hierarchy`: `n_top_components=50`; "
    "`vamp_flow_hierarchy`: all three), each trained on the ELBO for the "
    "same budget of training CPU time (process time, one torch thread), "
    "estimated with the importance-weighted bound on the same fixed random "
    "subset of the test rows (nats, lower is better; the test ELBO is minus "
    "the k=1 bound). For reference, Burda et al. (2016) report 88.71 for "
    "their VAE after 3280 passes over the data.\n"
)


def paired_row(r, standard):
    """``r``'s test bound at the largest k against the standard VAE's, row
    by row on the same test rows: the mean difference and its standard
    error."""
    diff = np.asarray(r["test_bound_per_row"]) - standard["test_bound_per_row"]
    return {
        "model": r["model"].upper(),
        "test rows": len(diff),
        "NLL gain over standard (nats)": f"{diff.mean():+.2f}",
        "standard error": f"{diff.std(ddof=1) / np.sqrt(len(diff)):.2f}",
    }


def result_row(r, ks):
    """One model's row of the main table; ``ks`` are the k of the columns."""
    published = PUBLISHED_NLL.get(r["n_importance_samples"])
    nll = r["test_nll"]
    return {
        "model": f"{r['model'].upper()} ({r['training_bound']})",
        "epochs run (best valid epoch)": f"{r['n_iter']} ({r['best_epoch']})",
        "fit wall time (per epoch)": f"{r['fit_seconds'] / 60:.0f} min "
        f"({r['seconds_per_epoch']:.1f} s)",
        "fit CPU time": (
            f"{r['fit_cpu_seconds'] / 60:.1f} min" if "fit_cpu_seconds" in r else ""
        ),
        "test rows": r["n_test_rows"],
        "test ELBO": f"{-nll['1']:.2f}",
        **{f"NLL k={k}": f"{nll[str(k)]:.2f}" if str(k) in nll else "" for k in ks},
        "published NLL": f"{published:.2f}" if published else "",
        "active dims": r["n_active_components"],
    }


def check_row(r):
    """One model's row of the ``score_samples`` check."""
    return {
        "model": r["model"].upper(),
        "rows": r["check_rows"],
        "own NLL (k=k_eval)": f"{r['check_own_nll']:.2f} (k={r['k_eval']})",
        "score_samples, n_mc_samples=k_eval": f"{-r['check_score_samples_k']:.2f}",
        "own ELBO": f"{r['check_own_elbo']:.2f}",
        "score_samples, n_mc_samples=1": f"{r['check_score_samples_1']:.2f}",
        "score_samples time": f"{r['check_score_samples_seconds']:.0f} s",
    }


def run_line(r):
    """How one model was run, for the list of runs."""
    schedule = ", ".join(f"{lr:.2g} ({e})" for e, lr in r["lr_schedule"])
    return (
        f"- {r['model'].upper()}: `{r['command']}` — {r['date']}; "
        f"{r['n_fit_rows']} rows passed to fit (train + valid, 1/6 held out "
        f"for early stopping), {r['n_test_rows']} test rows; training budget "
        f"{r['minutes']} min ({r.get('budget_clock', 'wall')} time), "
        f"warm-started calls of {r.get('epochs_per_call', EPOCHS_PER_CALL)} "
        "epochs, "
        f"batch_size={r['params']['batch_size']}, learning rate (from epoch) "
        f"{schedule}; validation patience {r['params']['n_iter_no_change']}; "
        f"fit {r['fit_seconds']:.0f} s, test estimate {r['eval_seconds']:.0f} s; "
        f"{r['machine']}."
        + (
            f" `uptime` before: {r['uptime_start']}; after: {r['uptime_end']}."
            if "uptime_start" in r
            else ""
        )
    )


def report(path, args):
    """Rebuild ``likelihood.md`` and ``likelihood.png`` from the JSON files."""
    out = path.parent
    paths = sorted(Path(out).glob(f"{path.name}_*.json"))
    order = [*CONTENDERS, *LATENT_MODELS]
    results = sorted(
        (
            r
            for r in (json.loads(p.read_text()) for p in paths)
            # likelihood_*.json also matches another name's files.
            if r.get("name", "likelihood") == path.name
        ),
        key=lambda r: order.index(r["model"]),
    )
    if not results:
        return
    latent = any(r["model"] in LATENT_MODELS for r in results)
    ks = sorted({int(k) for r in results for k in r["test_nll"]})
    top = str(max(ks))
    sems = [
        f"{r['model'].upper()} k={max(ks)}: {r['test_nll_sem'][top]:.2f}"
        for r in results
        if top in r["test_nll_sem"]
    ]
    gaps = [
        f"{r['model'].upper()}: "
        f"{r['test_nll'][top] - PUBLISHED_NLL[r['n_importance_samples']]:+.2f} nats"
        for r in results
        if r["n_importance_samples"] in PUBLISHED_NLL and top in r["test_nll"]
    ]
    body = [
        LATENT_INTRO if latent else INTRO,
        markdown_table(pd.DataFrame([result_row(r, ks[1:]) for r in results])),
        "",
        f"Standard errors of the test means (over the test rows): {'; '.join(sems)}.\n",
        "Gap to the published NLL (ours at the largest k minus theirs): "
        + "; ".join(gaps)
        + PROTOCOL,
    ]
    standard = next((r for r in results if r["model"] == "standard"), None)
    others = [r for r in results if r is not standard and "test_bound_per_row" in r]
    if standard is not None and others:
        body += [
            "Paired with the standard VAE on the same test rows (bound at the "
            "largest k, per row; positive: a lower NLL than standard's):\n",
            markdown_table(pd.DataFrame([paired_row(r, standard) for r in others])),
            "",
        ]
    body += [
        "Check of `score_samples` (common random numbers drawn from the seed "
        "fixed at fit) against the estimate above, mean over the first test "
        "rows:\n",
        markdown_table(pd.DataFrame([check_row(r) for r in results])),
        "",
        "Runs:\n",
        *map(run_line, results),
    ]
    title, command = "Likelihood benchmark: binarized MNIST", results[0]["command"]
    md = path.with_suffix(".md")
    write_markdown(md, title, "\n".join(body), command=command, note=args.note)
    plot(results, path.with_suffix(".png"))


def plot(results, path):
    plt = pyplot()
    fig, (ax_curve, ax_k) = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, r in enumerate(results):
        color, label, k = f"C{i}", r["model"].upper(), r["n_importance_samples"]
        epochs = np.arange(1, len(r["loss_curve"]) + 1)
        train, valid = r["loss_curve"], -np.asarray(r["validation_scores"])
        ax_curve.plot(epochs, train, color=color, label=f"{label} train (-bound)")
        ax_curve.plot(
            epochs, valid, color=color, ls="--", label=f"{label} valid (-ELBO)"
        )
        ks = sorted(int(kk) for kk in r["test_nll"])
        nll = [r["test_nll"][str(kk)] for kk in ks]
        ax_k.plot(ks, nll, "o-", color=color, label=label)
        if published := PUBLISHED_NLL.get(k):
            ax_k.axhline(
                published, color=color, ls=":", label=f"published, trained k={k}"
            )
    ax_curve.set(xlabel="epoch", ylabel="nats per image", title="Training curves")
    low = min(min(r["loss_curve"]) for r in results)
    ax_curve.set_ylim(low - 2, low + 25)
    ax_curve.legend()
    ax_k.set(xscale="log", xlabel="importance samples k at evaluation")
    ax_k.set(ylabel="test NLL estimate (nats)", title="Test NLL vs k")
    ax_k.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def add_arguments(parser):
    add = parser.add_argument
    add("--epochs", type=int, default=300, help="max_iter")
    add("--iwae-k", type=int, default=5, help="samples of the IWAE training bound")
    add("--k-eval", type=int, default=5000, help="samples of the test estimate")
    add("--minutes", type=float, help="training time budget per model")
    add("--cpu-minutes", type=float, help="training CPU-time budget per model")
    add("--epochs-per-call", type=int, default=EPOCHS_PER_CALL)
    add("--test-rows", type=int, help="fixed random subset of the test rows")
    add("--eval-minutes", type=float, help="time budget of the test estimate")
    add("--check-rows", type=int, default=200, help="rows of the score check")
    add("--batch-size", type=int, default=100)
    add("--learning-rate", type=float, default=1e-3)
    add("--patience", type=int, default=50, help="n_iter_no_change")
    add("--save-model", help="folder where the fitted estimators are pickled")
    add("--verbose", action="store_true", help="skorch's per-epoch table")


def cases(args):
    yield {}  # every model on the same data


def prepare(case, args):
    """The rows the models fit (train + valid) and the test rows."""
    X_train, X_valid, X_test = load_binarized_mnist()
    X_fit = np.concatenate([X_train, X_valid])
    if args.quick:
        X_fit, X_test = X_fit[:3000], X_test[:100]
    return X_fit, X_test


def evaluate(model, split, case, args):
    """Fit one model of ``--contenders``: its JSON beside the report."""
    result = run_model(model, *split, args)
    print(json.dumps(result["test_nll"]), flush=True)
    return result
