"""Where a default detector's training step spends its time (issue 36).

On three ADBench sets of different shapes (seed-1 ADBench split: a small
table, a tall one and a wide one), one thread:

(a) **Ratios in one process**, interleaved rounds (``--repeats``): the
    default ``VAEAnomalyDetector()`` fit + ``score_samples`` of the test
    part, against a bare PyTorch loop of the same steps (batch, trimming,
    learning rate) driving skvae's own torch module and objective without
    skorch, against the same loop over a plain-tensor copy of the network
    (no ``torch.distributions``, no trimming), and against
    ``IsolationForest()`` fit + score.
(b) **Phases of a step**, timed one by one in the bare loop over skvae's
    module with the detector's optimizer class (batch slicing, forward +
    loss, backward, ``zero_grad`` + the optimizer's step); skorch's share
    is the detector's training time (its history's epoch durations) minus
    the bare loop's, per step. The plain-tensor loop uses
    ``torch.optim.Adam`` with the detector's ``fused``/``foreach`` option.
(c) **Eager operations per step**: the top-level ``aten`` operations of
    one training step of the fitted net (``net.train_step``), counted by
    ``torch.profiler`` in forward, backward and optimizer: a count, not a
    time, so it is the same on a busy machine.
(d) **The arithmetic floor**: 6 x sum(in x out) x batch FLOPs per step
    (forward, and twice that for backward, of every linear layer) against a
    measured matrix-multiply rate of this machine, for a 2048 x 2048
    product and for the step's own layer shapes.

Usage::

    python -m benchmarks step_profile --quick
    python -m benchmarks step_profile --repeats 5

Writes ``step_profile.json`` and ``step_profile.md``.
"""

import importlib
import json
import math
import os
import time
import warnings
from collections import Counter

import numpy as np
import torch
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from torch import nn
from torch.nn import functional as F

from benchmarks.harness.data import adbench_split, load_adbench
from benchmarks.harness.report import (
    command_line,
    machine_info,
    markdown_table,
    write_markdown,
)
from benchmarks.harness.timing import interleaved, paired_ratio, timed
from skvae import VAEAnomalyDetector

DATASETS = ["Pima", "magic.gamma", "InternetAds"]
# The speed check: 2 000 training rows of 30 standard normal
# columns (1 000 test rows, a tenth of them shifted: outliers).
SYNTHETIC = "synthetic-2000x30"
QUICK = {"datasets": ["Pima"]}
LOG_2PI = math.log(2 * math.pi)


def add_arguments(parser):
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--versions",
        help="two source trees, comma-separated (before,after): instead of "
        "the profile, time the default fit + score of each in turn",
    )


def datasets(args):
    return DATASETS


def load_split(name):
    """``(X_train, X_test, y_test)``: the seed-1 ADBench split of ``name``,
    or the synthetic table of ``SYNTHETIC``."""
    if name == SYNTHETIC:
        rng = np.random.RandomState(0)
        X_train = rng.standard_normal((2000, 30))
        X_test = rng.standard_normal((1000, 30))
        y_test = np.zeros(1000, dtype=int)
        y_test[:100] = 1
        X_test[:100] += rng.choice([-3.0, 3.0], size=(100, 30)) * (
            rng.rand(100, 30) < 0.2
        )
        return X_train, X_test, y_test
    X, y = load_adbench(name)
    X_train, X_test, _, y_test = adbench_split(X, y, 1)
    return X_train, X_test, y_test


# ---------------------------------------------------------- skvae internals
# The only code of this study that reads skvae's private API (the fitted
# detector's skorch net, its module and objective): adapt here on a rename.


def training_setup(detector):
    """What the detector's training did: batch size, steps, learning rate,
    widths, trim fraction, and its training seconds (history durations)."""
    net = detector.net_
    history = [row for row in net.history if "train_loss" in row]
    steps = sum(len(row["batches"]) for row in history)
    return dict(
        batch_size=detector.batch_size_,
        steps=steps,
        epochs=len(history),
        learning_rate=net.lr,
        hidden=[
            m.out_features for m in net.module_.encoder.body if isinstance(m, nn.Linear)
        ],
        n_components=detector.n_components,
        trim_fraction=detector.trim_fraction,
        train_seconds=sum(row["dur"] for row in history),
        adam=repr({k: net.optimizer_.defaults.get(k) for k in ("foreach", "fused")}),
        optimizer=f"{type(net.optimizer_).__module__}.{type(net.optimizer_).__name__}",
    )


def skvae_module(n_features, setup):
    """A fresh skvae torch module and objective of ``setup``'s network."""
    from skvae._objective import Objective
    from skvae._torch.networks import VAE

    generator = torch.Generator().manual_seed(0)
    module = VAE(
        n_features, setup["hidden"], setup["n_components"], generator=generator
    )
    objective = Objective(trim_fraction=setup["trim_fraction"])

    def loss(x):
        return objective(module, module(x), x, epoch=1, generator=generator)

    return module, loss


def count_step_ops(detector, X):
    """Top-level aten operations of one ``net.train_step`` of the fitted
    net on a batch of ``X``, by phase; the net's state is restored after."""
    from torch.profiler import ProfilerActivity, profile

    from skvae._training import restore_state, snapshot_state

    net = detector.net_
    snapshot = snapshot_state(net)
    net.module_.train()
    x = torch.as_tensor(X[: detector.batch_size_], dtype=torch.float32)
    batch = (x, x)
    for _ in range(3):
        net.train_step(batch)
    n = 10
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(n):
            net.train_step(batch)
    restore_state(net, snapshot)
    net.module_.eval()
    counts = Counter()
    for event in prof.events():
        parent = event.cpu_parent
        if not event.name.startswith("aten::"):
            continue
        counts["all, nested included"] += 1
        if parent is not None and parent.name.startswith("aten::"):
            continue
        chain, phase = parent, "forward + loss"
        if event.name in ("aten::_fused_adam_", "aten::_foreach_add_"):
            chain, phase = None, "optimizer"  # LeanAdam: no Optimizer scope
        while chain is not None:
            if chain.name.startswith("autograd::") or "Backward" in chain.name:
                phase = "backward"
            if chain.name.startswith("Optimizer."):
                phase = "optimizer"
                break
            chain = chain.cpu_parent
        counts[phase] += 1
    return {phase: counts[phase] / n for phase in sorted(counts)}


# ------------------------------------------------------------- contenders


class PlainVAE(nn.Module):
    """The same network with plain tensors: no distributions, no trimming."""

    def __init__(self, n_features, hidden, n_components):
        super().__init__()
        layers, n_in = [], n_features
        for width in hidden:
            layers += [nn.Linear(n_in, width), nn.SiLU()]
            n_in = width
        self.encoder = nn.Sequential(*layers)
        self.loc = nn.Linear(n_in, n_components)
        self.raw_scale = nn.Linear(n_in, n_components)
        layers, n_in = [], n_components
        for width in reversed(hidden):
            layers += [nn.Linear(n_in, width), nn.SiLU()]
            n_in = width
        self.decoder = nn.Sequential(*layers, nn.Linear(n_in, n_features))
        self.raw_noise = nn.Parameter(torch.full((n_features,), 0.5413))

    def forward(self, x):
        h = self.encoder(x)
        loc, scale = self.loc(h), F.softplus(self.raw_scale(h)) + 1e-5
        z = loc + scale * torch.randn_like(loc)
        sigma = F.softplus(self.raw_noise) + 1e-3
        log_px = (-0.5 * ((x - self.decoder(z)) / sigma).square() - sigma.log()).sum(
            -1
        ) - 0.5 * LOG_2PI * x.shape[-1]
        kl = (0.5 * (loc.square() + scale.square() - 1) - scale.log()).sum(-1)
        return -(log_px - kl).mean()


def standardized(X):
    return torch.from_numpy(((X - X.mean(0)) / (X.std(0) + 1e-12)).astype(np.float32))


def bare_fit(X, setup, plain=False, phases=None):
    """``setup["steps"]`` Adam steps of batch ``setup["batch_size"]`` on the
    standardized rows; with ``phases`` (a dict) each phase's seconds are
    added to it."""
    torch.manual_seed(0)
    if plain:
        model = PlainVAE(X.shape[1], setup["hidden"], setup["n_components"])
        loss_of = model
    else:
        model, loss_of = skvae_module(X.shape[1], setup)
    fused = {"fused": True} if "'fused': True" in setup["adam"] else {}
    # skvae's module with the detector's optimizer class (skorch's share is
    # then the difference); the plain network with torch's own Adam.
    optimizer_class = torch.optim.Adam if plain else _optimizer_class(setup)
    optimizer = optimizer_class(model.parameters(), lr=setup["learning_rate"], **fused)
    x_all, batch, steps = standardized(X), setup["batch_size"], setup["steps"]
    clock = time.perf_counter
    step = 0
    while step < steps:
        order = torch.randperm(len(x_all))
        for start in range(0, len(x_all), batch):
            if step == steps:
                break
            t0 = clock()
            x = x_all[order[start : start + batch]]
            t1 = clock()
            optimizer.zero_grad()
            t2 = clock()
            loss = loss_of(x)
            loss.item()
            t3 = clock()
            loss.backward()
            t4 = clock()
            optimizer.step()
            t5 = clock()
            if phases is not None:
                phases["batch slicing"] += t1 - t0
                phases["forward + loss"] += t3 - t2
                phases["backward"] += t4 - t3
                phases["optimizer (zero_grad + step)"] += t2 - t1 + t5 - t4
            step += 1
    return model


def _optimizer_class(setup):
    module, _, name = setup.get("optimizer", "torch.optim.Adam").rpartition(".")
    return getattr(importlib.import_module(module), name)


def detector_fit_score(X_train, X_test, y_test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        detector = VAEAnomalyDetector(random_state=0).fit(X_train)
    return detector, roc_auc_score(y_test, -detector.score_samples(X_test))


def forest_fit_score(X_train, X_test, y_test):
    forest = IsolationForest(random_state=0).fit(X_train)
    return forest, roc_auc_score(y_test, -forest.score_samples(X_test))


# -------------------------------------------------------------- the floor


def matmul_rate(m, k, n, seconds=0.3):
    """GFLOP/s of (m x k) @ (k x n) float32 products, repeated for about
    ``seconds``; the best of three such runs."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    torch.mm(a, b)
    reps = max(1, int(seconds / max(timed(torch.mm, a, b)[1], 1e-7)))
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b)
        best = min(best, (time.perf_counter() - start) / reps)
    return 2 * m * k * n / best / 1e9


def layer_shapes(n_features, hidden, n_components):
    """(in, out) of every linear layer of the network."""
    widths = [n_features, *hidden]
    shapes = list(zip(widths[:-1], widths[1:], strict=True))
    shapes += [(hidden[-1], n_components)] * 2  # loc and scale heads
    widths = [n_components, *reversed(hidden), n_features]
    return shapes + list(zip(widths[:-1], widths[1:], strict=True))


def floor(n_features, setup):
    shapes = layer_shapes(n_features, setup["hidden"], setup["n_components"])
    batch = setup["batch_size"]
    flops = 6 * sum(i * o for i, o in shapes) * batch
    # Forward (x W^T), and backward (grad W^T, grad^T x) of every layer.
    small = 0.0
    for i, o in shapes:
        for m, k, n in ((batch, i, o), (batch, o, i), (o, batch, i)):
            small += 2 * m * k * n / (matmul_rate(m, k, n, 0.05) * 1e9)
    return dict(flops=flops, small_matmul_seconds=small)


# ------------------------------------------------- one-time costs of a fit

# The parts of a default fit + score, in order: (owner, attribute, label);
# each is wrapped by a timer for one fit (skvae's private structure: adapt
# here on a rename).
FIT_PARTS = [
    ("skvae._base.BaseVAE", "_validate_for_fit", "validation"),
    ("skvae._base", "_architecture", "architecture"),
    ("skvae._base", "_standardization", "standardization"),
    ("skvae._base", "make_net", "network construction"),
    ("skvae._base", "train", "training (skorch fit loop)"),
    ("skvae._base.BaseVAE", "_record_training", "latent diagnostics"),
    ("skvae._base", "inference_copy", "float64 inference copy"),
    ("skvae.anomaly.VAEAnomalyDetector", "_fitted_on", "thresholds (offset_)"),
]


def _owner(path):
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError:
        return importlib.import_module(path)


def fit_phases(X_train, X_test):
    """Seconds of each part of one default fit + score (``FIT_PARTS``, the
    test part's ``score_samples``, and the rest of ``fit``), and the
    training's steps and history seconds."""
    from unittest import mock

    seconds = Counter()

    def timer(fn, label):
        def wrapped(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[label] += time.perf_counter() - start

        return wrapped

    patches = []
    for owner, attr, label in FIT_PARTS:
        obj = _owner(owner)
        patches.append(mock.patch.object(obj, attr, timer(getattr(obj, attr), label)))
    for patch in patches:
        patch.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            detector = VAEAnomalyDetector(random_state=0)
            _, fit_seconds = timed(detector.fit, X_train)
            _, score_seconds = timed(detector.score_samples, X_test)
    finally:
        for patch in patches:
            patch.stop()
    parts = {label: seconds[label] for _, _, label in FIT_PARTS}
    parts["rest of fit"] = fit_seconds - sum(parts.values())
    parts["score_samples (test part)"] = score_seconds
    setup = training_setup(detector)
    return dict(
        parts=parts,
        fit_seconds=fit_seconds,
        steps=setup["steps"],
        train_seconds=setup["train_seconds"],
    )


def import_costs():
    """Seconds, in a fresh process (one thread): ``import skvae`` (torch,
    scikit-learn, skorch), and the first tiny fit minus the second (the
    imports a first fit triggers)."""
    import subprocess
    import sys

    code = (
        "import time; t0 = time.perf_counter(); import skvae; "
        "t1 = time.perf_counter(); import numpy as np, warnings; "
        "warnings.simplefilter('ignore'); "
        "X = np.random.RandomState(0).standard_normal((200, 3)); "
        "skvae.VAEAnomalyDetector(max_iter=2, random_state=0).fit(X); "
        "t2 = time.perf_counter(); "
        "skvae.VAEAnomalyDetector(max_iter=2, random_state=0).fit(X); "
        "t3 = time.perf_counter(); "
        "print(t1 - t0, (t2 - t1) - (t3 - t2))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    ).stdout.split()
    return dict(import_skvae=float(out[0]), first_fit_extra=float(out[1]))


# ------------------------------------------------------------------ run


def contenders(X_train, X_test, y_test, setup, log):
    """The four contenders of a round; each round appends the detector's
    training seconds and the bare loop's phase seconds to ``log``."""

    def skvae():
        detector, auc = detector_fit_score(X_train, X_test, y_test)
        log["train_seconds"].append(training_setup(detector)["train_seconds"])
        return detector, auc

    def bare():
        phases = Counter()
        bare_fit(X_train, setup, phases=phases)
        log["phases"].append(dict(phases))

    return {
        "skvae fit + score": skvae,
        "bare loop, skvae module": bare,
        "bare loop, plain tensors": lambda: bare_fit(X_train, setup, plain=True),
        "IsolationForest fit + score": lambda: forest_fit_score(
            X_train, X_test, y_test
        ),
    }


def uptime():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run(args, path):
    if args.versions:
        return run_versions(args, path)
    r = dict(command=command_line(), machine=machine_info(), repeats=args.repeats)
    r["uptime_before"] = uptime()
    peak = matmul_rate(2048, 2048, 2048, 1.0)
    r["matmul_2048_gflops"] = peak
    r["datasets"] = []
    r["imports"] = import_costs()
    for name in args.datasets:
        X_train, X_test, y_test = load_split(name)
        detector, _ = detector_fit_score(X_train, X_test, y_test)  # warm-up
        setup = training_setup(detector)
        log = {"train_seconds": [], "phases": []}
        calls = contenders(X_train, X_test, y_test, setup, log)
        rounds, cpu_rounds, values = interleaved(
            calls, 1 if args.quick else args.repeats
        )
        detector, auc = values["skvae fit + score"]
        entry = dict(
            name=name,
            shape=list(X_train.shape),
            setup=setup,
            rounds=rounds,
            cpu_rounds=cpu_rounds,
            roc_auc=auc,
            forest_roc_auc=values["IsolationForest fit + score"][1],
            train_seconds=log["train_seconds"],
            phases=log["phases"],
            ops=count_step_ops(detector, X_train),
            floor=floor(X_train.shape[1], setup),
            fit_phases=fit_phases(X_train, X_test),
        )
        r["datasets"].append(entry)
        print(name, json.dumps({k: entry[k] for k in ("shape", "ops")}), flush=True)
    r["uptime_after"] = uptime()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(r, indent=1))


# ------------------------------------------------------ before and after
# ``--versions BEFORE,AFTER``: two source trees (each with this study under
# benchmarks/configs), timed in turn, each round a child process per tree
# that fits and scores the default detector and IsolationForest on every
# data set, alternately: the ratio to IsolationForest is measured in one
# process, the ratio of the two trees round by round.


def child(names):
    """One child's timings: per data set, the default detector's and
    IsolationForest's fit + score, wall and CPU seconds, and ROC-AUCs."""
    from benchmarks.harness.timing import clocked, limit_threads

    limit_threads(1)
    X = np.random.RandomState(0).standard_normal((200, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        VAEAnomalyDetector(max_iter=2).fit(X)  # lazy imports
    out = {}
    for name in names:
        X_train, X_test, y_test = load_split(name)
        (_, auc), wall, cpu = clocked(detector_fit_score, X_train, X_test, y_test)
        (_, f_auc), f_wall, f_cpu = clocked(forest_fit_score, X_train, X_test, y_test)
        out[name] = dict(wall=wall, cpu=cpu, auc=auc)
        out[name] |= dict(forest_wall=f_wall, forest_cpu=f_cpu, forest_auc=f_auc)
    return out


def run_versions(args, path):
    import subprocess
    import sys

    trees = args.versions.split(",")
    r = dict(command=command_line(), machine=machine_info(), trees=trees)
    r["uptime_before"] = uptime()
    r["rounds"] = []
    code = (
        "import json, sys; from benchmarks.configs.step_profile import child; "
        "print(json.dumps(child(sys.argv[1:])))"
    )
    for _ in range(1 if args.quick else args.repeats):
        result = {}
        for label, tree in zip(("before", "after"), trees, strict=True):
            out = subprocess.run(
                [sys.executable, "-c", code, *args.datasets],
                cwd=tree,
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "OMP_NUM_THREADS": "1"},
            ).stdout
            result[label] = json.loads(out.strip().splitlines()[-1])
        r["rounds"].append(result)
        print(json.dumps(result), flush=True)
    r["uptime_after"] = uptime()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(r, indent=1))


def report_versions(path, r, args):
    rows = []
    names = list(r["rounds"][0]["before"])
    for name in names:
        per = [(rd["before"][name], rd["after"][name]) for rd in r["rounds"]]
        row = [name]
        for clock in ("wall", "cpu"):
            after_before = [a[clock] / b[clock] for b, a in per]
            row.append(f"{np.median(after_before):.3f}")
        for version in (0, 1):
            ratios = [v[version]["wall"] / v[version]["forest_wall"] for v in per]
            row.append(f"{np.median(ratios):.1f}")
        for version in (0, 1):
            ratios = [v[version]["cpu"] / v[version]["forest_cpu"] for v in per]
            row.append(f"{np.median(ratios):.1f}")
        row.append(f"{per[0][0]['auc']:.4f} / {per[0][1]['auc']:.4f}")
        row.append(f"{per[0][0]['forest_auc']:.4f}")
        rows.append(row)
    header = [
        "data",
        "after / before, wall",
        "after / before, CPU",
        "before / IForest, wall",
        "after / IForest, wall",
        "before / IForest, CPU",
        "after / IForest, CPU",
        "ROC-AUC before / after",
        "IForest ROC-AUC",
    ]
    body = f"""
Trees: before `{r["trees"][0]}`, after `{r["trees"][1]}`.
`uptime` load (1, 5, 15 min) before: {r["uptime_before"]}; after: {r["uptime_after"]}.
Rounds: {len(r["rounds"])}; each round runs a child process per tree in turn
(before, then after), and each child fits and scores the default
``VAEAnomalyDetector(random_state=0)`` then ``IsolationForest(random_state=0)``
on each data set (seed-1 ADBench split), one thread. Ratios: medians over
rounds of the round's ratio (after / before), or of the ratio within one
process (to IsolationForest). ROC-AUC of the first round.

{markdown_table(rows, header)}
"""
    write_markdown(
        path.with_suffix(".md"),
        "Default detector fit + score before and after the cheaper step",
        body,
        command=r["command"],
        machine=r["machine"],
        note=getattr(args, "note", None),
    )


# --------------------------------------------------------------- report


def report(path, args):
    json_path = path.with_suffix(".json")
    if not json_path.exists():
        return
    r = json.loads(json_path.read_text())
    if "trees" in r:
        return report_versions(path, r, args)
    us = 1e6
    rows_ratio, rows_phase, rows_floor = [], [], []
    for d in r["datasets"]:
        s, rounds, cpu = d["setup"], d["rounds"], d["cpu_rounds"]
        steps = s["steps"]
        skvae, forest = "skvae fit + score", "IsolationForest fit + score"
        bare, plain = "bare loop, skvae module", "bare loop, plain tensors"
        rows_ratio.append(
            [
                f"{d['name']} ({d['shape'][0]} x {d['shape'][1]})",
                f"{tuple(s['hidden'])}, {steps} steps of {s['batch_size']}",
                f"{np.median(rounds[skvae]):.2f}",
                f"{paired_ratio(rounds, skvae, bare)[0]:.2f}",
                f"{paired_ratio(rounds, skvae, plain)[0]:.2f}",
                f"{paired_ratio(rounds, bare, plain)[0]:.2f}",
                f"{paired_ratio(rounds, skvae, forest)[0]:.1f}",
                f"{paired_ratio(cpu, skvae, bare)[0]:.2f}",
                f"{paired_ratio(cpu, skvae, forest)[0]:.1f}",
                f"{d['roc_auc']:.4f} / {d['forest_roc_auc']:.4f}",
            ]
        )
        # Per round, then the median over rounds: the bare loop and the
        # detector ran back to back in each round.
        per_round = [
            (ph, sum(ph.values()), train, rounds[skvae][i])
            for i, (ph, train) in enumerate(
                zip(d["phases"], d["train_seconds"], strict=True)
            )
        ]
        ph = {
            k: np.median([p[k] / b for p, b, _, _ in per_round]) for k in d["phases"][0]
        }
        bare_seconds = np.median([b for _, b, _, _ in per_round])
        skorch = np.median([t - b for _, b, t, _ in per_round])
        fit_rest = np.median([f - t for _, _, t, f in per_round])
        train_seconds = np.median(d["train_seconds"])
        ops = ("forward + loss", "backward", "optimizer", "all, nested included")
        rows_phase.append(
            [
                d["name"],
                *(f"{ph[k]:.0%}" for k in ph),
                f"{bare_seconds / steps * us:.0f}",
                f"{train_seconds / steps * us:.0f}",
                f"{skorch / steps * us:+.0f}",
                f"{fit_rest:.2f}",
                " / ".join(f"{d['ops'].get(k, 0):.0f}" for k in ops),
            ]
        )
        f = d["floor"]
        rows_floor.append(
            [
                d["name"],
                f"{f['flops'] / 1e6:.1f}",
                f"{f['flops'] / (r['matmul_2048_gflops'] * 1e9) * us:.0f}",
                f"{f['small_matmul_seconds'] * us:.0f}",
                f"{bare_seconds / steps * us:.0f}",
                f"{(bare_seconds / steps) / f['small_matmul_seconds']:.1f}",
            ]
        )
    rows_parts, part_names = [], []
    for d in r["datasets"]:
        if "fit_phases" not in d:
            continue
        fp = d["fit_phases"]
        part_names = list(fp["parts"])
        total = fp["fit_seconds"] + fp["parts"]["score_samples (test part)"]
        rows_parts.append(
            [
                d["name"],
                f"{total:.3f}",
                f"{fp['steps']} x {fp['train_seconds'] / fp['steps'] * us:.0f}",
                *(
                    f"{fp['parts'][k]:.3f} ({fp['parts'][k] / total:.0%})"
                    for k in part_names
                ),
            ]
        )
    imports = r.get("imports")
    imports_line = (
        ""
        if imports is None
        else f"In a fresh process: `import skvae` {imports['import_skvae']:.2f} s; "
        f"a first tiny fit costs {imports['first_fit_extra']:.2f} s more than "
        "the second (imports and set-up a first fit triggers), once per "
        "process.\n"
    )
    phase_names = list(r["datasets"][0]["phases"][0]) if r["datasets"] else []
    adam = r["datasets"][0]["setup"]["adam"] if r["datasets"] else "-"
    ratio_header = [
        "data (train rows x d)",
        "network, steps",
        "skvae fit + score (s)",
        "skvae / bare loop (skvae module)",
        "skvae / bare loop (plain tensors)",
        "bare skvae module / bare plain",
        "skvae / IsolationForest",
        "CPU time: skvae / bare loop (skvae module)",
        "CPU time: skvae / IsolationForest",
        "ROC-AUC skvae / IForest",
    ]
    phase_header = [
        "data",
        *phase_names,
        "bare step",
        "skvae step",
        "skorch",
        "rest of fit + score (s)",
        "eager ops per step",
    ]
    floor_header = [
        "data",
        "MFLOP per step",
        "at 2048 rate (us)",
        "small matmuls (us)",
        "bare step (us)",
        "bare step / small matmuls",
    ]
    body = f"""
`uptime` load (1, 5, 15 min) before: {r["uptime_before"]}; after: {r["uptime_after"]}.
Adam options of the fit: {adam}.
Rounds: {r["repeats"]}, interleaved (each round runs every contender once).

## (a) Ratios in one process (median of per-round ratios)

The detector's training (its steps, batch, learning rate, trimming)
is replayed by the bare loops, which skip preprocessing and scoring.

{markdown_table(rows_ratio, ratio_header)}

## (b) Where a step's time goes

Phases timed in the bare loop over skvae's module, as shares of its
step; "bare step" and "skvae step" in microseconds per step, the latter
the detector's training seconds (skorch's history) per step, "skorch"
the difference per step; "rest of fit + score" is the detector's fit +
score seconds outside its training epochs (preprocessing, the offset's
scores, the test part's scores). Each a median over rounds of the
round's value (the bare loop and the detector ran back to back).
Eager ops: top-level aten operations of one
``net.train_step`` (forward + loss / backward / optimizer), and every
aten operation, nested ones included (fused Adam's per-parameter step
counters, the dispatcher's casts, views).

{markdown_table(rows_phase, phase_header)}

## (c) The arithmetic floor of a step

Measured 2048 x 2048 float32 matmul rate: {r["matmul_2048_gflops"]:.1f} GFLOP/s.
FLOPs per step: 6 x sum(in x out) x batch; "at 2048 rate" is their time
at that rate; "small matmuls" the measured time of the step's own 3
products per layer (forward, two for backward) at their shapes.

{markdown_table(rows_floor, floor_header)}

## (d) Where one default fit + score goes

One default ``VAEAnomalyDetector(random_state=0)`` fit and the test
part's ``score_samples``, after the rounds, each part timed by a wrapper
(seconds and share of the fit + score); "steps x us" is the training's
steps and its history seconds per step.

{imports_line}
{markdown_table(rows_parts, ["data", "fit + score (s)", "steps x us", *part_names])}
"""
    write_markdown(
        path.with_suffix(".md"),
        "Where a default detector's training step spends its time",
        body,
        command=r["command"],
        machine=r["machine"],
        note=getattr(args, "note", None),
    )
