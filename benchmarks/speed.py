"""Speed of skvae against a bare PyTorch loop, PyOD's VAE and IsolationForest.

Every number is a ratio measured in this one process, with the contenders
run alternately (``--repeats`` rounds, median of each), because the shared
2-core machines are noisy. The script measures:

(a) ``VAETransformer.fit`` against a hand-written PyTorch training loop of the
    same architecture (SiLU MLP encoder with a softplus scale head, mirrored
    decoder, Gaussian likelihood with a learned per-feature scale, Adam with
    lr=1e-3, same batch size and epochs, in-memory tensors shuffled by
    ``randperm``), and against the same loop driving skvae's own torch module
    and ELBO (which isolates the cost of ``torch.distributions`` from the cost
    of skorch); plus the achieved GFLOP/s against the machine's measured
    float32 matrix-multiply peak;
(b) against PyOD's ``VAE`` doing the same work (same widths, latent size,
    epochs and batch size; PyOD offers no SiLU, so ReLU);
(c) end-to-end defaults on 2000 x 30 random rows: ``VAEAnomalyDetector()``,
    PyOD's ``VAE()`` and ``IsolationForest()``;
(d) scaling of ``fit`` (``max_iter=2``) and ``score_samples`` with the number
    of rows (1e3 ... 1e6, 20 features), with the slope of the log-log fit;
(e) inference: ``transform`` and ``score_samples`` against a bare forward
    pass of the same trained module, in float64 and float32.

Usage::

    python benchmarks/speed.py            # full run, ~15 minutes
    python benchmarks/speed.py --quick    # smoke test for CI, < 60 s
    python benchmarks/speed.py --profile  # also cProfile one skvae fit

Unlike the other benchmarks, this one uses torch's default number of threads
(the machine's cores) unless ``--threads`` says otherwise: the question is
how fast each contender runs on the machine. It writes
``benchmarks/results/speed.md`` and ``speed.png`` (``speed_quick.*`` with
``--quick``).
"""

import argparse
import copy
import cProfile
import io
import math
import os
import pstats
import subprocess
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    RESULTS_DIR,
    command_line,
    markdown_table,
    write_markdown,
)

from skvae import VAEAnomalyDetector, VAETransformer  # noqa: E402
from skvae._torch.bounds import elbo_terms  # noqa: E402
from skvae._torch.networks import VAE  # noqa: E402

LOG_2PI = math.log(2 * math.pi)


# --------------------------------------------------------------- utilities


def load_average():
    """The 1-minute load average as reported by ``uptime``."""
    return os.getloadavg()[0]


def other_processes():
    """Processes (not this one) using more than 10% of a CPU right now."""
    try:
        out = subprocess.run(
            ["ps", "-eo", "pid,pcpu,comm", "--sort=-pcpu"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    busy = []
    for line in out.splitlines()[1:]:
        pid, pcpu, comm = line.split(None, 2)
        if int(pid) != os.getpid() and float(pcpu) > 10:
            busy.append(f"{comm} ({float(pcpu):.0f}%)")
    return busy


def interleaved(contenders, repeats):
    """Run each zero-argument callable once per round, alternating them.

    Returns the median wall-clock seconds of each contender (a dict), the
    value each returned in its last round, and the median CPU seconds of this
    process (``time.process_time``), which other jobs on a shared machine
    disturb far less than the wall clock. The per-round wall-clock times are
    kept in ``interleaved.last_rounds`` for paired ratios (see
    :func:`paired_ratio`).
    """
    times = {name: [] for name in contenders}
    cpu_times = {name: [] for name in contenders}
    values = {}
    for _ in range(repeats):
        for name, fn in contenders.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            values[name] = fn()
            times[name].append(time.perf_counter() - start)
            cpu_times[name].append(time.process_time() - cpu_start)
    interleaved.last_rounds = times
    median = {name: float(np.median(t)) for name, t in times.items()}
    cpu_median = {name: float(np.median(t)) for name, t in cpu_times.items()}
    return median, values, cpu_median


def paired_ratio(rounds, reference, contender):
    """Throughput of ``contender`` relative to ``reference``, round by round.

    Both ran back to back in each round, so a burst of load on the machine
    hits them alike; the median and range over rounds of
    ``time(reference) / time(contender)`` say how stable the ratio is.
    """
    ratios = np.asarray(rounds[reference]) / np.asarray(rounds[contender])
    return float(np.median(ratios)), float(ratios.min()), float(ratios.max())


def matmul_peak(dtype=torch.float32, size=2048, repeats=5):
    """Measured matrix-multiply throughput of this machine in GFLOP/s."""
    a = torch.randn(size, size, dtype=dtype)
    b = torch.randn(size, size, dtype=dtype)
    torch.matmul(a, b)  # warm-up
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def linear_flops(n_features, hidden_layer_sizes, n_components):
    """Multiply-add FLOPs of one row's forward pass through every Linear."""
    widths = [n_features, *hidden_layer_sizes]
    encoder = sum(widths[i] * widths[i + 1] for i in range(len(widths) - 1))
    heads = 2 * widths[-1] * n_components  # loc and raw_scale
    # The decoder mirrors the encoder, plus latent -> last hidden width.
    decoder = encoder + n_components * widths[-1]
    return 2 * (encoder + heads + decoder)


def fmt(x, digits=3):
    return f"{x:.{digits}g}"


# ------------------------------------------------- the bare PyTorch model


def mlp(n_in, widths):
    layers = []
    for width in widths:
        layers += [nn.Linear(n_in, width), nn.SiLU()]
        n_in = width
    return nn.Sequential(*layers)


class BareVAE(nn.Module):
    """skvae's architecture written out with plain tensors, no distributions."""

    def __init__(self, n_features, hidden_layer_sizes, n_components):
        super().__init__()
        self.encoder = mlp(n_features, hidden_layer_sizes)
        self.loc = nn.Linear(hidden_layer_sizes[-1], n_components)
        self.raw_scale = nn.Linear(hidden_layer_sizes[-1], n_components)
        self.decoder = mlp(n_components, tuple(reversed(hidden_layer_sizes)))
        self.out = nn.Linear(hidden_layer_sizes[0], n_features)
        # softplus(0.5413) == 1, as skvae's GaussianLikelihood.
        self.raw_noise = nn.Parameter(torch.full((n_features,), 0.5413))

    def encode(self, x):
        h = self.encoder(x)
        return self.loc(h), F.softplus(self.raw_scale(h)) + 1e-5

    def decode(self, z):
        return self.out(self.decoder(z))

    def noise_scale(self):
        return F.softplus(self.raw_noise) + 1e-3

    def neg_elbo(self, x):
        loc, scale = self.encode(x)
        z = loc + scale * torch.randn_like(loc)
        mean = self.decode(z)
        sigma = self.noise_scale()
        log_px = (
            -0.5 * ((x - mean) / sigma) ** 2 - torch.log(sigma) - 0.5 * LOG_2PI
        ).sum(-1)
        kl = (0.5 * (loc**2 + scale**2 - 1) - torch.log(scale)).sum(-1)
        return -(log_px - kl).mean()


def skvae_adam_options():
    """The Adam implementation options skvae uses (``foreach`` / ``fused``),
    read from a tiny fitted model, so that the bare loops run the identical
    optimizer."""
    X = np.random.RandomState(0).standard_normal((16, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = VAETransformer(1, hidden_layer_sizes=(2,), max_iter=1).fit(X)
    defaults = model.net_.optimizer_.defaults
    return {key: defaults[key] for key in ("foreach", "fused") if defaults.get(key)}


ADAM_OPTIONS = {}  # filled in main() by skvae_adam_options()


def _bare_loop(model, neg_elbo, X, batch_size, epochs):
    """A hand-written loop over in-memory float32 tensors, no framework."""
    x_all = torch.from_numpy(((X - X.mean(0)) / X.std(0)).astype(np.float32))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, **ADAM_OPTIONS)
    n_samples = len(x_all)
    for _ in range(epochs):
        order = torch.randperm(n_samples)
        for start in range(0, n_samples, batch_size):
            x = x_all[order[start : start + batch_size]]
            optimizer.zero_grad()
            loss = neg_elbo(x)
            loss.backward()
            optimizer.step()
    return model


def bare_fit(X, hidden_layer_sizes, n_components, batch_size, epochs, seed=0):
    """The ceiling: the bare loop with a plain-tensor ELBO."""
    torch.manual_seed(seed)
    model = BareVAE(X.shape[1], hidden_layer_sizes, n_components)
    return _bare_loop(model, model.neg_elbo, X, batch_size, epochs)


def bare_fit_skvae_module(
    X, hidden_layer_sizes, n_components, batch_size, epochs, seed=0
):
    """The same loop driving skvae's torch module and ELBO, without skorch."""
    torch.manual_seed(seed)
    model = VAE(X.shape[1], hidden_layer_sizes, n_components)

    def neg_elbo(x):
        terms = elbo_terms(model, model(x), x)
        return -(terms.reconstruction - terms.kl.sum(-1)).mean()

    return _bare_loop(model, neg_elbo, X, batch_size, epochs)


def skvae_fit(X, hidden_layer_sizes, n_components, batch_size, epochs, seed=0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: fixed epochs
        model = VAETransformer(
            n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            batch_size=batch_size,
            max_iter=epochs,
            n_iter_no_change=epochs + 1,  # never stop early: same work
            random_state=seed,
        ).fit(X)
    assert model.n_iter_ == epochs
    return model


def skvae_detector_fit(X, hidden_layer_sizes, n_components, batch_size, epochs, seed=0):
    """``VAEAnomalyDetector.fit``: the same training, then the training rows'
    scores for ``offset_`` (default ``n_mc_samples`` importance samples,
    float64)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: fixed epochs
        model = VAEAnomalyDetector(
            n_components=n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            batch_size=batch_size,
            max_iter=epochs,
            n_iter_no_change=epochs + 1,
            trim_fraction=0.0,  # the bare loop keeps every row in the loss
            random_state=seed,
        ).fit(X)
    assert model.n_iter_ == epochs
    return model


def pyod_fit(X, hidden_layer_sizes, n_components, batch_size, epochs, seed=0):
    from pyod.models.vae import VAE as PyODVAE

    return PyODVAE(
        epoch_num=epochs,
        batch_size=batch_size,
        encoder_neuron_list=list(hidden_layer_sizes),
        decoder_neuron_list=list(reversed(hidden_layer_sizes)),
        latent_dim=n_components,
        dropout_rate=0.0,
        optimizer_params={},  # no weight decay, as the others
        random_state=seed,
        verbose=0,
    ).fit(X)


# -------------------------------------------------------------- sections


def warm_up():
    """Pay every contender's one-time costs (lazy imports, first calls)."""
    X = np.random.RandomState(0).standard_normal((256, 5))
    for fit in (bare_fit, bare_fit_skvae_module, skvae_fit, pyod_fit):
        fit(X, (8,), 2, 128, 1)


def section_training(workloads, repeats, peak):
    """(a) and (b): skvae's fit against the bare loops and PyOD's VAE."""
    warm_up()
    rows = []
    results = []
    for name, workload in workloads.items():
        n_samples, n_features, hidden, n_components, epochs = workload
        rng = np.random.RandomState(0)
        X = rng.standard_normal((n_samples, n_features))
        args = (X, hidden, n_components, 128, epochs)
        contenders = {
            "bare loop": partial(bare_fit, *args),
            "bare loop, skvae module": partial(bare_fit_skvae_module, *args),
            "skvae VAETransformer fit": partial(skvae_fit, *args),
            "skvae VAEAnomalyDetector fit": partial(skvae_detector_fit, *args),
            "PyOD VAE fit": partial(pyod_fit, *args),
        }
        times, values, cpu = interleaved(contenders, repeats)
        rounds = interleaved.last_rounds
        model = values["skvae VAETransformer fit"]
        epoch_seconds = sum(row["dur"] for row in model.net_.history)
        last_fit_seconds = rounds["skvae VAETransformer fit"][-1]
        flops = 3 * linear_flops(n_features, hidden, n_components) * n_samples
        flops *= epochs
        rows_per_epoch = n_samples * epochs
        for contender, seconds in times.items():
            ratio, low, high = paired_ratio(rounds, "bare loop", contender)
            pyod = paired_ratio(rounds, "PyOD VAE fit", contender)[0]
            rows.append(
                [
                    name,
                    epochs,
                    contender,
                    fmt(seconds),
                    fmt(cpu[contender]),
                    f"{rows_per_epoch / seconds:,.0f}",
                    fmt(flops / seconds / 1e9),
                    f"{100 * flops / seconds / 1e9 / peak:.1f}%",
                    f"{ratio:.3f} ({low:.3f}-{high:.3f})",
                    fmt(cpu["bare loop"] / cpu[contender], 3),
                    f"{pyod:.2f}",
                ]
            )
        results.append(
            {
                "workload": name,
                "epochs": epochs,
                "times": times,
                "ratios": {
                    contender: paired_ratio(rounds, "bare loop", contender)
                    for contender in times
                },
                "cpu": cpu,
                "skvae_epochs_seconds": epoch_seconds,
                "skvae_last_fit_seconds": last_fit_seconds,
            }
        )
    table = markdown_table(
        [
            "workload",
            "epochs",
            "contender",
            "wall s (median)",
            "CPU s (median)",
            "rows/s (wall)",
            "GFLOP/s (wall)",
            "of fp32 peak",
            "throughput / bare, wall (median, range over rounds)",
            "throughput / bare (CPU)",
            "throughput / PyOD (wall)",
        ],
        rows,
    )
    return table, results


def section_defaults(repeats, quick=False):
    """(c) every contender with its defaults on 2000 x 30 random rows.

    ``quick`` cuts the epochs (5 for skvae, 2 for PyOD) for the smoke test.
    """
    from pyod.models.vae import VAE as PyODVAE
    from sklearn.ensemble import IsolationForest

    X = np.random.RandomState(0).standard_normal((2000, 30))

    def skvae_default():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            detector = VAEAnomalyDetector(random_state=0)
            if quick:
                detector.set_params(max_iter=5)
            return detector.fit(X)

    contenders = {
        "skvae VAEAnomalyDetector()": skvae_default,
        # verbose=0 only silences PyOD's progress bar.
        "PyOD VAE()": lambda: PyODVAE(verbose=0, epoch_num=2 if quick else 30).fit(X),
        "IsolationForest()": lambda: IsolationForest(random_state=0).fit(X),
    }
    times, values, cpu = interleaved(contenders, repeats)
    epochs = {
        "skvae VAEAnomalyDetector()": f"{values['skvae VAEAnomalyDetector()'].n_iter_}",
        "PyOD VAE()": f"{values['PyOD VAE()'].epoch_num}",
        "IsolationForest()": "-",
    }
    base = times["skvae VAEAnomalyDetector()"]
    rows = [
        [
            name,
            fmt(seconds),
            fmt(cpu[name]),
            epochs[name],
            fmt(seconds / base),
            fmt(cpu[name] / cpu["skvae VAEAnomalyDetector()"]),
        ]
        for name, seconds in times.items()
    ]
    table = markdown_table(
        [
            "detector (defaults)",
            "fit wall s (median)",
            "fit CPU s (median)",
            "epochs",
            "wall time / skvae",
            "CPU time / skvae",
        ],
        rows,
    )
    return table, times


def section_scaling(sizes, n_features=20):
    """(d) fit (max_iter=2) and score_samples time against the number of rows."""
    rng = np.random.RandomState(0)
    X_all = rng.standard_normal((max(sizes), n_features))
    rows, fit_times, score_times, fit_cpus, score_cpus = [], [], [], [], []
    for n_samples in sizes:
        X = X_all[:n_samples]
        detector = VAEAnomalyDetector(max_iter=2, n_iter_no_change=3, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start, cpu_start = time.perf_counter(), time.process_time()
            detector.fit(X)
            fit_seconds = time.perf_counter() - start
            fit_cpu = time.process_time() - cpu_start
        start, cpu_start = time.perf_counter(), time.process_time()
        detector.score_samples(X)
        score_seconds = time.perf_counter() - start
        score_cpu = time.process_time() - cpu_start
        fit_times.append(fit_seconds)
        score_times.append(score_seconds)
        fit_cpus.append(fit_cpu)
        score_cpus.append(score_cpu)
        rows.append(
            [
                f"{n_samples:,}",
                fmt(fit_seconds),
                fmt(fit_cpu),
                f"{2 * n_samples / fit_seconds:,.0f}",
                fmt(score_seconds),
                fmt(score_cpu),
                f"{n_samples / score_seconds:,.0f}",
            ]
        )
    table = markdown_table(
        [
            "rows",
            "fit wall s (2 epochs)",
            "fit CPU s",
            "fit rows/s (wall, epochs x rows)",
            "score_samples wall s",
            "score_samples CPU s",
            "score rows/s (wall)",
        ],
        rows,
    )
    slopes = {}
    logn = np.log10(sizes)
    for label, t in (
        ("fit (wall)", fit_times),
        ("fit (CPU)", fit_cpus),
        ("score_samples (wall)", score_times),
        ("score_samples (CPU)", score_cpus),
    ):
        slope_all = np.polyfit(logn, np.log10(t), 1)[0]
        big = np.asarray(sizes) >= 10_000
        slope_big = math.nan
        if big.sum() >= 2:
            slope_big = np.polyfit(logn[big], np.log10(np.asarray(t)[big]), 1)[0]
        slopes[label] = (slope_all, slope_big)
    return table, slopes, (sizes, fit_times, score_times)


def score_noise(model, X):
    """skvae's Monte Carlo noise for ``X`` as a (k, n, d) tensor, made outside
    the bare timing (skvae's own ``score_samples`` pays for making it)."""
    noise = model._score_noise
    if callable(noise):  # per-row noise, a function of each row
        return torch.as_tensor(noise(X)).to(torch.from_numpy(X[:0]).dtype)
    # common random numbers (k, d) shared by every row
    noise = torch.as_tensor(noise, dtype=torch.from_numpy(X[:0]).dtype)
    return noise[:, None, :].expand(-1, X.shape[0], -1)


@torch.no_grad()
def bare_transform(vae, x):
    return vae.encoder.loc(vae.encoder.body(x))


@torch.no_grad()
def bare_score(vae, x, noise):
    """The IWAE bound of skvae's score_samples, hand-written."""
    h = vae.encoder.body(x)
    loc = vae.encoder.loc(h)
    scale = F.softplus(vae.encoder.raw_scale(h)) + 1e-5
    z = loc + scale * noise  # (k, n, d)
    mean = vae.decoder(z)  # (k, n, n_features)
    sigma = vae.likelihood.scale()
    log_px = (-0.5 * ((x - mean) / sigma) ** 2 - torch.log(sigma)).sum(-1)
    log_px = log_px - 0.5 * LOG_2PI * x.shape[-1]
    log_pz = (-0.5 * z**2).sum(-1)
    log_qz = (-0.5 * noise**2 - torch.log(scale)).sum(-1)
    log_w = log_px + log_pz - log_qz  # (k, n); the 2 pi terms of z cancel
    return torch.logsumexp(log_w, 0) - math.log(noise.shape[0])


def section_inference(n_samples, n_features, repeats):
    """(e) transform / score_samples against a bare forward of the same module."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((n_samples, n_features))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = VAETransformer(max_iter=2, random_state=0).fit(X)
    rows = []
    checks = {}
    for dtype, torch_dtype in (
        (np.float64, torch.float64),
        (np.float32, torch.float32),
    ):
        Xd = X.astype(dtype)
        # A copy: the estimator's own module must stay as skvae left it.
        vae = copy.deepcopy(model.net_.module_).to(torch_dtype).eval()
        noise = score_noise(model, Xd)
        x_std = torch.from_numpy(((Xd - model.mean_) / model.scale_).astype(dtype))

        contenders = {
            "skvae transform": partial(model.transform, Xd),
            "bare encoder forward": partial(bare_transform, vae, x_std),
            "skvae score_samples": partial(model.score_samples, Xd),
            "bare IWAE bound": partial(bare_score, vae, x_std, noise),
        }
        times, values, cpu = interleaved(contenders, repeats)
        log_det = float(np.log(model.scale_).sum())
        checks[dtype.__name__] = (
            float(
                np.abs(
                    values["skvae transform"] - values["bare encoder forward"].numpy()
                ).max()
            ),
            float(
                np.abs(
                    values["skvae score_samples"]
                    - (values["bare IWAE bound"].numpy() - log_det)
                ).max()
            ),
        )
        for skvae_name, bare_name in (
            ("skvae transform", "bare encoder forward"),
            ("skvae score_samples", "bare IWAE bound"),
        ):
            rows.append(
                [
                    dtype.__name__,
                    skvae_name,
                    fmt(times[skvae_name]),
                    fmt(times[bare_name]),
                    fmt(times[skvae_name] / times[bare_name]),
                    fmt(cpu[skvae_name] / cpu[bare_name]),
                ]
            )
    table = markdown_table(
        [
            "dtype",
            "method",
            "skvae wall s",
            "bare wall s",
            "skvae / bare (wall)",
            "skvae / bare (CPU)",
        ],
        rows,
    )
    return table, checks


def profile_fit(n_samples, n_features, hidden, n_components, epochs):
    """cProfile one skvae fit; the top functions by cumulative and own time."""
    X = np.random.RandomState(0).standard_normal((n_samples, n_features))
    profiler = cProfile.Profile()
    profiler.enable()
    skvae_fit(X, hidden, n_components, 128, epochs)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(30)
    return out.getvalue()


# ------------------------------------------------------------------ main


def plot(path, training, scaling):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    names = list(training[0]["times"])
    width = 0.8 / len(training)
    for i, result in enumerate(training):
        ratios = [result["ratios"][name][0] for name in names]
        ax1.bar(
            np.arange(len(names)) + i * width, ratios, width, label=result["workload"]
        )
    ax1.axhline(0.9, color="gray", ls="--", lw=1, label="goal 0.9")
    ax1.set_xticks(np.arange(len(names)) + width * (len(training) - 1) / 2)
    ax1.set_xticklabels(names, rotation=15, fontsize=8)
    ax1.set_ylabel("training throughput / bare loop (median of rounds)")
    ax1.set_title("Same training work, one process")
    ax1.legend(fontsize=8)
    sizes, fit_times, score_times = scaling
    ax2.loglog(sizes, fit_times, "o-", label="fit (2 epochs)")
    ax2.loglog(sizes, score_times, "s-", label="score_samples")
    ref = np.asarray(sizes, dtype=float)
    ax2.loglog(ref, fit_times[-1] * ref / ref[-1], ":", color="gray", label="linear")
    ax2.set_xlabel("rows (20 features)")
    ax2.set_ylabel("seconds")
    ax2.set_title("Scaling of VAEAnomalyDetector")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke test")
    parser.add_argument("--profile", action="store_true", help="cProfile a fit")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads (0: torch default)"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    ADAM_OPTIONS.update(skvae_adam_options())
    load_before = load_average()
    busy_before = other_processes()
    if args.quick:
        workloads = {"2000 x 30, (64, 32), k=8": (2000, 30, (64, 32), 8, 1)}
        repeats, sizes, n_inference = 1, [1000, 10_000], 2000
    else:
        # Epochs such that each bare fit takes a few seconds: sub-second
        # timings on a shared machine are mostly noise.
        workloads = {
            "10000 x 30, (64, 32), k=8": (10_000, 30, (64, 32), 8, 20),
            "10000 x 784, (512, 256), k=32": (10_000, 784, (512, 256), 32, 5),
        }
        repeats = args.repeats
        sizes, n_inference = [1000, 10_000, 100_000, 1_000_000], 100_000

    peak = matmul_peak(torch.float32)
    peak64 = matmul_peak(torch.float64)
    print(f"matmul peak: {peak:.1f} GFLOP/s fp32, {peak64:.1f} fp64", flush=True)
    training_table, training = section_training(workloads, repeats, peak)
    print(training_table, flush=True)
    defaults_table, _ = section_defaults(repeats, quick=args.quick)
    print(defaults_table, flush=True)
    inference_table, checks = section_inference(n_inference, 20, max(repeats, 5))
    print(inference_table, checks, flush=True)
    scaling_table, slopes, scaling = section_scaling(sizes)
    print(scaling_table, slopes, flush=True)
    profile_text = ""
    if args.profile:
        profile_text = profile_fit(10_000, 30, (64, 32), 8, 5)
        print(profile_text)
    load_after = load_average()
    busy_after = other_processes()

    overheads = "\n".join(
        f"- {r['workload']}: in the last round, `VAETransformer.fit` took "
        f"{fmt(r['skvae_last_fit_seconds'])} s, "
        f"of which {fmt(r['skvae_epochs_seconds'])} s inside skorch's epochs "
        "(history `dur`); the rest is validation, standardization, net "
        "set-up and the latent diagnostics pass."
        for r in training
    )
    slope_text = "\n".join(
        f"- {label}: log-log slope {fmt(all_, 3)} over all sizes, "
        f"{fmt(big, 3)} from 10,000 rows on (1 = linear)."
        for label, (all_, big) in slopes.items()
    )
    check_text = ", ".join(
        f"{dtype}: max |transform diff| {t:.2g}, max |score diff| {s:.2g}"
        for dtype, (t, s) in checks.items()
    )
    detector_mc = VAEAnomalyDetector().n_mc_samples
    body = f"""
- Torch threads: {torch.get_num_threads()}. Measured matrix-multiply peak
  (2048 x 2048 `torch.matmul`, best of 5): **{peak:.1f} GFLOP/s float32**,
  {peak64:.1f} GFLOP/s float64.
- Load average (1 min) before: {load_before:.2f}, after: {load_after:.2f}.
  Other busy processes before: {", ".join(busy_before) or "none"}; after:
  {", ".join(busy_after) or "none"}. The machine is shared: absolute times
  are noisy, ratios measured in the same rounds less so.
- Each contender ran {repeats} time(s), alternating with the others; the
  median is reported.

## (a), (b) Training throughput on the same work

Batch size 128, Adam lr=1e-3 with skvae's implementation
options `{ADAM_OPTIONS}` in every torch loop, random Gaussian data
(standardized), float32 training. *bare loop*: the hand-written ceiling (plain
tensor ELBO). *bare loop, skvae module*: the same loop driving skvae's
`VAE` module and `elbo_terms` (torch.distributions), without skorch. *PyOD
VAE*: same widths, latent size, epochs and batch size, ReLU (PyOD has no
SiLU), no dropout, no weight decay; PyOD's loss is MSE + KL and its
DataLoader drops the last incomplete batch. Every fit includes its own
preparation (validation, standardization) and, for skvae and PyOD, one
inference pass over the training rows: latent diagnostics for
`VAETransformer`, the training scores behind `offset_` for
`VAEAnomalyDetector` ({detector_mc} importance samples per row in float64, with
`trim_fraction=0` so that it trains on the same rows as the others), the
training scores for PyOD. The wall-clock ratio to the bare loop is taken
round by round (the two ran back to back), median and range over rounds.
GFLOP/s counts the matrix multiplies of the Linear layers only
(forward + backward = 3 x forward).

{training_table}

{overheads}

## (c) End-to-end defaults, 2000 x 30 random rows

Each with its own defaults: skvae's `hidden_layer_sizes="auto"` is (256, 128)
at 30 features, latent size 8, batch size 128, up to 200 epochs with its
stopping rule; PyOD's VAE has encoder (128, 64, 32), latent size 2, batch
size 32, 30 epochs.

{defaults_table}

## (d) Scaling: `VAEAnomalyDetector(max_iter=2)`, 20 features

`fit` includes computing the training scores for `offset_`.

{scaling_table}

{slope_text}

## (e) Inference against a bare forward pass of the same module

{n_inference:,} rows x 20 features, model fitted with `VAETransformer(max_iter=2)`
(defaults otherwise: `n_mc_samples=16`). The bare side gets a ready
standardized tensor; skvae gets a NumPy array and validates it. Agreement:
{check_text}.

{inference_table}
"""
    if profile_text:
        body += (
            "\n## cProfile of one skvae fit (10000 x 30, default architecture)\n\n"
            f"```\n{profile_text}\n```\n"
        )
    stem = "speed_quick" if args.quick else "speed"
    write_markdown(
        RESULTS_DIR / f"{stem}.md",
        "Speed: skvae against a bare PyTorch loop, PyOD and IsolationForest",
        command_line(),
        body,
    )
    plot(RESULTS_DIR / f"{stem}.png", training, scaling)
    print(f"wrote {RESULTS_DIR / stem}.md and .png")


if __name__ == "__main__":
    main()
