"""Speed of skvae against a bare PyTorch loop, PyOD's VAE and IsolationForest.

Every number is a ratio measured in this one process, with the contenders
run alternately (``--repeats`` rounds, median of each), because the shared
2-core machines are noisy. The script measures:

(a) ``VAETransformer.fit`` against a hand-written PyTorch loop of the same
    architecture and work (``BareVAE``, ``bare_fit``), and against that loop
    driving skvae's own torch module and ELBO (the cost of
    ``torch.distributions`` apart from skorch's), with the achieved GFLOP/s;
(b) against PyOD's ``VAE`` doing the same work (ReLU: PyOD has no SiLU);
(c) end-to-end defaults on 2000 x 30 random rows: ``VAEAnomalyDetector()``,
    PyOD's ``VAE()`` and ``IsolationForest()``;
(d) scaling of ``fit`` (``max_iter=2``) and ``score_samples`` with the rows
    (1e3 ... 1e6, 20 features);
(e) ``transform`` and ``score_samples`` against a bare forward pass of the
    same trained module, in float64 and float32.

Usage::

    python -m benchmarks speed              # full run, ~15 minutes
    python -m benchmarks speed --quick      # smoke test for CI, < 60 s
    python -m benchmarks speed --profile    # also cProfile one skvae fit
    python -m benchmarks speed --repeats 9  # rounds per contender (default 5)
    python -m benchmarks speed --report-only  # rebuild .md/.png from .json

Unlike the other studies, this one uses torch's default number of threads
(the machine's cores) unless ``--threads N`` says otherwise (then torch and
the BLAS/OpenMP pools get N), and skvae's estimators get ``n_jobs`` of that
number: the question is how fast each contender runs on the machine. It
writes the raw timings to ``speed.json``, then ``speed.md`` and
``speed.png`` from them.
"""

import copy
import cProfile
import io
import json
import math
import pstats
import warnings
from functools import partial
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from benchmarks.harness.report import (
    command_line,
    machine_info,
    markdown_table,
    pyplot,
    write_markdown,
)
from benchmarks.harness.timing import (
    clocked,
    interleaved,
    limit_threads,
    machine_load,
    paired_ratio,
    timed,
)
from skvae import VAEAnomalyDetector, VAETransformer

THREADS = None  # torch's default unless --threads


def add_arguments(parser):
    parser.add_argument("--profile", action="store_true", help="cProfile a fit")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="0: torch default")


def run(args, path):
    if args.threads:
        limit_threads(args.threads)
    results = measure(args.quick, args.repeats, args.profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(results, indent=1))


LOG_2PI = math.log(2 * math.pi)
ADAM_OPTIONS = {}  # skvae's Adam options, filled in measure() for the bare loops


# ---------------------------------------------------------- skvae internals
# The only code of this study that uses skvae's private API: the torch
# module and ELBO under ``skvae._torch``, the skorch net of a fitted
# estimator (``est.net_``), the noise of ``score_samples`` (``skvae._noise``)
# and the layers of the torch module. When the library renames them, adapt
# these four functions alone.


def new_skvae_module(n_features, hidden_layer_sizes, n_components):
    """A fresh skvae torch module and its negative ELBO on a batch."""
    from skvae._objective import Objective
    from skvae._torch.networks import VAE

    generator = torch.Generator()
    module = VAE(n_features, hidden_layer_sizes, n_components, generator=generator)
    objective = Objective()

    def neg_elbo(x):
        return objective(module, module(x), x, epoch=1, generator=generator)

    return module, neg_elbo


def adam_options(est):
    """The Adam options (``foreach``/``fused``) ``est`` trained with."""
    options = est.net_.optimizer_.defaults
    return {key: options[key] for key in ("foreach", "fused") if options.get(key)}


def skvae_layers(est, dtype):
    """The layers of a copy of ``est``'s module in ``dtype`` and eval mode."""
    vae = copy.deepcopy(est.net_.module_).to(dtype).eval()
    encoder = vae.encoder
    return SimpleNamespace(
        body=encoder.body,
        loc=encoder.loc,
        raw_scale=encoder.raw_scale,
        decoder=vae.decoder,
        noise_scale=vae.likelihood.scale,
    )


def score_noise(est, X):
    """The noise of ``est.score_samples(X)``, a (k, n, d) tensor: drawn from
    the seed and sample count fixed at fit."""
    from skvae._noise import row_normal_noise

    noise = row_normal_noise(X, est.noise_seed_, est.n_mc_samples_, est.n_components_)
    return torch.as_tensor(noise).to(torch.from_numpy(X[:0]).dtype)


# ------------------------------------------------------------- contenders


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

    def neg_elbo(self, x):
        h = self.encoder(x)
        loc, scale = self.loc(h), F.softplus(self.raw_scale(h)) + 1e-5
        z = loc + scale * torch.randn_like(loc)
        mean = self.out(self.decoder(z))
        sigma = F.softplus(self.raw_noise) + 1e-3
        log_px = (
            -0.5 * ((x - mean) / sigma) ** 2 - torch.log(sigma) - 0.5 * LOG_2PI
        ).sum(-1)
        kl = (0.5 * (loc**2 + scale**2 - 1) - torch.log(scale)).sum(-1)
        return -(log_px - kl).mean()


def bare_fit(X, hidden, n_components, batch_size, epochs, seed=0, skvae_module=False):
    """A hand-written loop over in-memory float32 tensors, no framework: the
    ceiling with a plain-tensor ELBO, or driving skvae's torch module and
    ELBO (without skorch) if ``skvae_module``."""
    torch.manual_seed(seed)
    if skvae_module:
        model, neg_elbo = new_skvae_module(X.shape[1], hidden, n_components)
    else:
        model = BareVAE(X.shape[1], hidden, n_components)
        neg_elbo = model.neg_elbo
    x_all = torch.from_numpy(((X - X.mean(0)) / X.std(0)).astype(np.float32))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, **ADAM_OPTIONS)
    for _ in range(epochs):
        order = torch.randperm(len(x_all))
        for start in range(0, len(x_all), batch_size):
            x = x_all[order[start : start + batch_size]]
            optimizer.zero_grad()
            loss = neg_elbo(x)
            loss.backward()
            optimizer.step()
    return model


def skvae_fit(X, hidden, n_components, batch_size, epochs, seed=0, detector=False):
    """skvae's ``VAETransformer.fit`` for exactly ``epochs`` epochs (same
    work as the others), or ``VAEAnomalyDetector.fit``: the same training
    with ``trim_fraction=0`` (every row in the loss, as the bare loop), then
    the training rows' scores for ``offset_`` (float64)."""
    params = dict(n_components=n_components, hidden_layer_sizes=hidden)
    params["n_jobs"] = torch.get_num_threads()  # the bare loop's threads
    params.update(batch_size=batch_size, max_iter=epochs, random_state=seed)
    params["n_iter_no_change"] = epochs + 1  # never stop early
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: fixed epochs
        if detector:
            model = VAEAnomalyDetector(trim_fraction=0.0, **params).fit(X)
        else:
            model = VAETransformer(**params).fit(X)
    assert model.n_iter_ == epochs
    return model


def pyod_fit(X, hidden, n_components, batch_size, epochs, seed=0):
    from pyod.models.vae import VAE as PyODVAE

    kw = dict(epoch_num=epochs, batch_size=batch_size, latent_dim=n_components)
    kw |= dict(encoder_neuron_list=list(hidden), dropout_rate=0.0, verbose=0)
    kw |= dict(decoder_neuron_list=list(reversed(hidden)), random_state=seed)
    return PyODVAE(optimizer_params={}, **kw).fit(X)  # {}: no weight decay


@torch.no_grad()
def bare_transform(layers, x):
    return layers.loc(layers.body(x))


@torch.no_grad()
def bare_score(layers, x, noise):
    """The IWAE bound of skvae's score_samples, hand-written."""
    h = layers.body(x)
    loc = layers.loc(h)
    scale = F.softplus(layers.raw_scale(h)) + 1e-5
    z = loc + scale * noise  # (k, n, d)
    mean = layers.decoder(z)  # (k, n, n_features)
    sigma = layers.noise_scale()
    log_px = (-0.5 * ((x - mean) / sigma) ** 2 - torch.log(sigma)).sum(-1)
    log_px = log_px - 0.5 * LOG_2PI * x.shape[-1]
    log_pz = (-0.5 * z**2).sum(-1)
    log_qz = (-0.5 * noise**2 - torch.log(scale)).sum(-1)
    log_w = log_px + log_pz - log_qz  # (k, n); the 2 pi terms of z cancel
    return torch.logsumexp(log_w, 0) - math.log(noise.shape[0])


# -------------------------------------------------------------- measures
# Each returns JSON-able raw timings: per-round wall-clock ("rounds") and
# CPU ("cpu_rounds") seconds of each contender (see harness.timing).


def matmul_peak(dtype=torch.float32, size=2048, repeats=5):
    """Measured matrix-multiply throughput of this machine in GFLOP/s."""
    a = torch.randn(size, size, dtype=dtype)
    b = torch.randn(size, size, dtype=dtype)
    torch.matmul(a, b)  # warm-up
    best = min(timed(torch.matmul, a, b)[1] for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def measure_training(workloads, repeats):
    """(a) and (b): skvae's fit against the bare loops and PyOD's VAE."""
    X = np.random.RandomState(0).standard_normal((256, 5))
    for fit in (bare_fit, partial(bare_fit, skvae_module=True), skvae_fit, pyod_fit):
        fit(X, (8,), 2, 128, 1)  # pay the one-time costs (lazy imports...)
    results = []
    for name, workload in workloads.items():
        n_samples, n_features, hidden, n_components, epochs = workload
        X = np.random.RandomState(0).standard_normal((n_samples, n_features))
        args = (X, hidden, n_components, 128, epochs)
        fits = {"bare loop": partial(bare_fit, *args)}
        fits["bare loop, skvae module"] = partial(bare_fit, *args, skvae_module=True)
        fits["skvae VAETransformer fit"] = partial(skvae_fit, *args)
        fits["skvae VAEAnomalyDetector fit"] = partial(skvae_fit, *args, detector=True)
        fits["PyOD VAE fit"] = partial(pyod_fit, *args)
        rounds, cpu_rounds, values = interleaved(fits, repeats)
        model = values["skvae VAETransformer fit"]
        results.append(
            {
                "workload": name,
                "shape": [n_samples, n_features, list(hidden), n_components, epochs],
                "rounds": rounds,
                "cpu_rounds": cpu_rounds,
                "skvae_epochs_seconds": sum(row["dur"] for row in model.net_.history),
            }
        )
    return results


def measure_defaults(repeats, quick=False):
    """(c) every contender with its defaults on 2000 x 30 random rows
    (``quick``: 5 epochs for skvae, 2 for PyOD)."""
    from pyod.models.vae import VAE as PyODVAE
    from sklearn.ensemble import IsolationForest

    X = np.random.RandomState(0).standard_normal((2000, 30))

    def skvae_default():
        detector = VAEAnomalyDetector(random_state=0, n_jobs=torch.get_num_threads())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return detector.set_params(**({"max_iter": 5} if quick else {})).fit(X)

    def pyod_default():  # verbose=0 only silences PyOD's progress bar
        return PyODVAE(verbose=0, epoch_num=2 if quick else 30).fit(X)

    skvae, pyod = "skvae VAEAnomalyDetector()", "PyOD VAE()"
    fits = {skvae: skvae_default, pyod: pyod_default}
    fits["IsolationForest()"] = lambda: IsolationForest(random_state=0).fit(X)
    rounds, cpu_rounds, values = interleaved(fits, repeats)
    epochs = {skvae: f"{values[skvae].n_iter_}", pyod: f"{values[pyod].epoch_num}"}
    epochs["IsolationForest()"] = "-"
    return {"rounds": rounds, "cpu_rounds": cpu_rounds, "epochs": epochs}


def measure_scaling(sizes, n_features=20):
    """(d) fit (max_iter=2) and score_samples time against the number of rows."""
    X_all = np.random.RandomState(0).standard_normal((max(sizes), n_features))
    times = []
    for n_samples in sizes:
        X = X_all[:n_samples]
        kw = dict(max_iter=2, n_iter_no_change=3, n_jobs=torch.get_num_threads())
        detector = VAEAnomalyDetector(random_state=0, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, fit, fit_cpu = clocked(detector.fit, X)
        _, score, score_cpu = clocked(detector.score_samples, X)
        times.append((fit, fit_cpu, score, score_cpu))
    fit, fit_cpu, score, score_cpu = map(list, zip(*times, strict=True))
    return dict(sizes=sizes, fit=fit, fit_cpu=fit_cpu, score=score, score_cpu=score_cpu)


def measure_inference(n_samples, n_features, repeats):
    """(e) transform / score_samples against a bare forward of the same module."""
    X = np.random.RandomState(0).standard_normal((n_samples, n_features))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = VAETransformer(
            max_iter=2, random_state=0, n_jobs=torch.get_num_threads()
        ).fit(X)
    log_det = float(np.log(model.scale_).sum())
    results = []
    for dtype, torch_dtype in (
        (np.float64, torch.float64),
        (np.float32, torch.float32),
    ):
        Xd = X.astype(dtype)
        layers = skvae_layers(model, torch_dtype)  # a copy: the model's stays intact
        noise = score_noise(model, Xd)
        x_std = torch.from_numpy(((Xd - model.mean_) / model.scale_).astype(dtype))
        calls = {"skvae transform": partial(model.transform, Xd)}
        calls["bare encoder forward"] = partial(bare_transform, layers, x_std)
        calls["skvae score_samples"] = partial(model.score_samples, Xd)
        calls["bare IWAE bound"] = partial(bare_score, layers, x_std, noise)
        rounds, cpu_rounds, values = interleaved(calls, repeats)
        transform = values["skvae transform"] - values["bare encoder forward"].numpy()
        score = values["skvae score_samples"] - (
            values["bare IWAE bound"].numpy() - log_det
        )
        checks = [float(np.abs(transform).max()), float(np.abs(score).max())]
        row = dict(dtype=dtype.__name__, rounds=rounds, cpu_rounds=cpu_rounds)
        results.append(row | {"checks": checks})
    return results


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


def measure(quick, repeats, profile):
    """Every measure of the module docstring, as one JSON-able dict."""
    X = np.random.RandomState(0).standard_normal((16, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tiny = VAETransformer(1, hidden_layer_sizes=(2,), max_iter=1).fit(X)
    ADAM_OPTIONS.update(adam_options(tiny))
    r = {"adam_options": repr(ADAM_OPTIONS)}
    r["load_before"], r["busy_before"] = machine_load()
    if quick:
        workloads = {"2000 x 30, (64, 32), k=8": (2000, 30, (64, 32), 8, 1)}
        repeats, sizes, n_inference = 1, [1000, 3000], 2000
    else:
        # Epochs such that each bare fit takes a few seconds: sub-second
        # timings on a shared machine are mostly noise.
        workloads = {
            "10000 x 30, (64, 32), k=8": (10_000, 30, (64, 32), 8, 20),
            "10000 x 784, (512, 256), k=32": (10_000, 784, (512, 256), 32, 5),
        }
        sizes, n_inference = [1000, 10_000, 100_000, 1_000_000], 100_000
    r.update(repeats=repeats, n_inference=n_inference)
    r["peak"], r["peak64"] = matmul_peak(torch.float32), matmul_peak(torch.float64)
    print(f"matmul peak: {r['peak']:.1f} GFLOP/s fp32, {r['peak64']:.1f} fp64")
    r["training"] = measure_training(workloads, repeats)
    print(training_table(r["training"], r["peak"]), flush=True)
    r["defaults"] = measure_defaults(repeats, quick=quick)
    print(defaults_table(r["defaults"]), flush=True)
    r["inference"] = measure_inference(n_inference, 20, max(repeats, 5))
    print(inference_table(r["inference"]), flush=True)
    r["scaling"] = measure_scaling(sizes)
    print(scaling_table(r["scaling"]), flush=True)
    r["profile"] = profile_fit(10_000, 30, (64, 32), 8, 5) if profile else ""
    print(r["profile"])
    r["load_after"], r["busy_after"] = machine_load()
    r["threads"] = torch.get_num_threads()
    r["detector_mc"] = VAEAnomalyDetector().n_mc_samples
    r.update(command=command_line(), machine=machine_info())
    return r


# ------------------------------------------------------------------ report


def fmt(x, digits=3):
    return f"{x:.{digits}g}"


def medians(rounds):
    return {name: float(np.median(t)) for name, t in rounds.items()}


def linear_flops(n_features, hidden_layer_sizes, n_components):
    """Multiply-add FLOPs of one row's forward pass through every Linear."""
    widths = [n_features, *hidden_layer_sizes]
    encoder = sum(widths[i] * widths[i + 1] for i in range(len(widths) - 1))
    heads = 2 * widths[-1] * n_components  # loc and raw_scale
    # The decoder mirrors the encoder, plus latent -> last hidden width.
    decoder = encoder + n_components * widths[-1]
    return 2 * (encoder + heads + decoder)


def training_table(training, peak):
    rows = []
    for r in training:
        n_samples, n_features, hidden, n_components, epochs = r["shape"]
        flops = 3 * linear_flops(n_features, hidden, n_components) * n_samples
        flops *= epochs
        rounds, wall, cpu = r["rounds"], medians(r["rounds"]), medians(r["cpu_rounds"])
        for contender, seconds in wall.items():
            ratio, low, high = paired_ratio(rounds, "bare loop", contender)
            pyod = paired_ratio(rounds, "PyOD VAE fit", contender)[0]
            rows.append(
                {
                    "workload": r["workload"],
                    "epochs": epochs,
                    "contender": contender,
                    "wall s (median)": fmt(seconds),
                    "CPU s (median)": fmt(cpu[contender]),
                    "rows/s (wall)": f"{n_samples * epochs / seconds:,.0f}",
                    "GFLOP/s (wall)": fmt(flops / seconds / 1e9),
                    "of fp32 peak": f"{100 * flops / seconds / 1e9 / peak:.1f}%",
                    "throughput / bare, wall (median, range over rounds)": (
                        f"{ratio:.3f} ({low:.3f}-{high:.3f})"
                    ),
                    "throughput / bare (CPU)": fmt(cpu["bare loop"] / cpu[contender]),
                    "throughput / PyOD (wall)": f"{pyod:.2f}",
                }
            )
    return markdown_table(pd.DataFrame(rows))


def defaults_table(defaults):
    wall, cpu = medians(defaults["rounds"]), medians(defaults["cpu_rounds"])
    skvae = "skvae VAEAnomalyDetector()"
    rows = [
        {
            "detector (defaults)": name,
            "fit wall s (median)": fmt(seconds),
            "fit CPU s (median)": fmt(cpu[name]),
            "epochs": defaults["epochs"][name],
            "wall time / skvae": fmt(seconds / wall[skvae]),
            "CPU time / skvae": fmt(cpu[name] / cpu[skvae]),
        }
        for name, seconds in wall.items()
    ]
    return markdown_table(pd.DataFrame(rows))


def scaling_table(s):
    rows = [
        {
            "rows": f"{n:,}",
            "fit wall s (2 epochs)": fmt(fit),
            "fit CPU s": fmt(fit_cpu),
            "fit rows/s (wall, epochs x rows)": f"{2 * n / fit:,.0f}",
            "score_samples wall s": fmt(score),
            "score_samples CPU s": fmt(score_cpu),
            "score rows/s (wall)": f"{n / score:,.0f}",
        }
        for n, fit, fit_cpu, score, score_cpu in zip(
            s["sizes"], s["fit"], s["fit_cpu"], s["score"], s["score_cpu"], strict=True
        )
    ]
    return markdown_table(pd.DataFrame(rows))


def scaling_slopes(s):
    """Log-log slopes of time against rows, over all sizes and from 10,000
    rows on, as report lines."""
    logn = np.log10(s["sizes"])
    big = np.asarray(s["sizes"]) >= 10_000
    lines = []
    keys = {"fit (wall)": "fit", "fit (CPU)": "fit_cpu"}
    keys |= {"score_samples (wall)": "score", "score_samples (CPU)": "score_cpu"}
    for label, key in keys.items():
        t = s[key]
        slope_all = np.polyfit(logn, np.log10(t), 1)[0]
        slope_big = math.nan
        if big.sum() >= 2:
            slope_big = np.polyfit(logn[big], np.log10(np.asarray(t)[big]), 1)[0]
        lines.append(
            f"- {label}: log-log slope {fmt(slope_all, 3)} over all sizes, "
            f"{fmt(slope_big, 3)} from 10,000 rows on (1 = linear)."
        )
    return "\n".join(lines)


def inference_table(inference):
    rows = []
    for r in inference:
        wall, cpu = medians(r["rounds"]), medians(r["cpu_rounds"])
        for skvae, bare in (
            ("skvae transform", "bare encoder forward"),
            ("skvae score_samples", "bare IWAE bound"),
        ):
            rows.append(
                {
                    "dtype": r["dtype"],
                    "method": skvae,
                    "skvae wall s": fmt(wall[skvae]),
                    "bare wall s": fmt(wall[bare]),
                    "skvae / bare (wall)": fmt(wall[skvae] / wall[bare]),
                    "skvae / bare (CPU)": fmt(cpu[skvae] / cpu[bare]),
                }
            )
    return markdown_table(pd.DataFrame(rows))


def report(stem, args):
    """Write ``<stem>.md`` and ``<stem>.png`` from ``<stem>.json``."""
    if not stem.with_suffix(".json").exists():
        return
    r = json.loads(stem.with_suffix(".json").read_text())
    overheads = "\n".join(
        f"- {t['workload']}: in the last round, `VAETransformer.fit` took "
        f"{fmt(t['rounds']['skvae VAETransformer fit'][-1])} s, of which "
        f"{fmt(t['skvae_epochs_seconds'])} s inside skorch's epochs (history "
        "`dur`); the rest is validation, standardization, net set-up and the "
        "latent diagnostics pass."
        for t in r["training"]
    )
    checks = ", ".join(
        f"{c['dtype']}: max |transform diff| {c['checks'][0]:.2g}, "
        f"max |score diff| {c['checks'][1]:.2g}"
        for c in r["inference"]
    )
    busy = [", ".join(r[k]) or "none" for k in ("busy_before", "busy_after")]
    body = f"""
- Torch threads: {r["threads"]}. Measured matrix-multiply peak (2048 x 2048
  `torch.matmul`, best of 5): **{r["peak"]:.1f} GFLOP/s float32**,
  {r["peak64"]:.1f} GFLOP/s float64.
- Load average (1 min) before: {r["load_before"]:.2f}, after:
  {r["load_after"]:.2f}; other busy processes before: {busy[0]}; after:
  {busy[1]}. Absolute times are noisy, ratios measured in the same rounds
  less so.
- Each contender ran {r["repeats"]} time(s), alternating with the others;
  the median is reported.

## (a), (b) Training throughput on the same work

Batch size 128, Adam lr=1e-3 with skvae's implementation options
`{r["adam_options"]}` in every torch loop, random standardized Gaussian
data, float32 (the contenders: see `benchmarks/configs/speed.py`). Every fit
includes its own preparation and, for skvae and PyOD, one inference pass over
the training rows (`VAEAnomalyDetector`: {r["detector_mc"]} importance samples
per row in float64, `trim_fraction=0`). The ratio to the bare loop is taken
round by round, median and range over rounds. GFLOP/s counts the matrix
multiplies of the Linear layers only (forward + backward = 3 x forward).

{training_table(r["training"], r["peak"])}

{overheads}

## (c) End-to-end defaults, 2000 x 30 random rows

{defaults_table(r["defaults"])}

## (d) Scaling: `VAEAnomalyDetector(max_iter=2)`, 20 features

`fit` includes computing the training scores for `offset_`.

{scaling_table(r["scaling"])}

{scaling_slopes(r["scaling"])}

## (e) Inference against a bare forward pass of the same module

{r["n_inference"]:,} rows x 20 features, `VAETransformer(max_iter=2)`. The bare
side gets a ready standardized tensor; skvae gets a NumPy array and validates
it. Agreement: {checks}.

{inference_table(r["inference"])}
"""
    if r["profile"]:
        body += f"\n## cProfile of one skvae fit\n\n```\n{r['profile']}\n```\n"
    title = "Speed: skvae against a bare PyTorch loop, PyOD and IsolationForest"
    header = dict(command=r["command"], machine=r["machine"], note=args.note)
    write_markdown(stem.with_suffix(".md"), title, body, **header)
    plot(stem.with_suffix(".png"), r["training"], r["scaling"])


def plot(path, training, scaling):
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    names = list(training[0]["rounds"])
    width = 0.8 / len(training)
    for i, result in enumerate(training):
        rounds = result["rounds"]
        ratios = [paired_ratio(rounds, "bare loop", name)[0] for name in names]
        x = np.arange(len(names)) + i * width
        ax1.bar(x, ratios, width, label=result["workload"])
    ax1.axhline(0.9, color="gray", ls="--", lw=1, label="goal 0.9")
    ax1.set_xticks(np.arange(len(names)) + width * (len(training) - 1) / 2)
    ax1.set_xticklabels(names, rotation=15, fontsize=8)
    ax1.set(ylabel="training throughput / bare loop (median of rounds)")
    ax1.set(title="Same training work, one process")
    ax1.legend(fontsize=8)
    sizes, fit_times = scaling["sizes"], scaling["fit"]
    ax2.loglog(sizes, fit_times, "o-", label="fit (2 epochs)")
    ax2.loglog(sizes, scaling["score"], "s-", label="score_samples")
    ref = np.asarray(sizes, dtype=float)
    ax2.loglog(ref, fit_times[-1] * ref / ref[-1], ":", color="gray", label="linear")
    ax2.set(xlabel="rows (20 features)", ylabel="seconds")
    ax2.set(title="Scaling of VAEAnomalyDetector")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
