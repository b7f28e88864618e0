"""The one report writer: Markdown tables, a reproducibility header, plots.

Every report starts with the command that made it, the date, the machine
and its load (``write_markdown``); results files are written next to their
CSV or JSON, under ``--out`` (``benchmarks/results`` by default).

Usage::

    from benchmarks.harness.report import markdown_table, write_markdown
    write_markdown(path, "Title", body)   # header: command, date, machine
"""

import datetime
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import torch


def command_line():
    """The command that started this process, ready to paste in a shell."""
    argv = list(sys.argv)
    if argv and Path(argv[0]).name == "__main__.py":
        argv[0:1] = ["-m", "benchmarks"]
    return " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *argv])


def _cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True)
        for line in out.stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown CPU"


def machine_info():
    """Date (UTC), ``nproc``, CPU, 1-minute load, torch threads and the
    versions of Python, torch, scikit-learn, skorch, PyOD and skvae."""
    import sklearn

    versions = [
        f"python {platform.python_version()}",
        f"torch {torch.__version__} ({torch.get_num_threads()} thread(s))",
        f"scikit-learn {sklearn.__version__}",
    ]
    for module in ("skorch", "pyod", "skvae"):
        try:
            versions.append(f"{module} {__import__(module).__version__}")
        except (ImportError, AttributeError):
            pass
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        f"{now:%Y-%m-%d %H:%M} UTC; nproc={os.cpu_count()}; {_cpu_model()}; "
        f"{platform.system()}; load {os.getloadavg()[0]:.2f}; " + ", ".join(versions)
    )


def markdown_table(table, header=None):
    """A Markdown table of a DataFrame (columns as header, index not shown)
    or of a list of rows under ``header``."""
    if isinstance(table, pd.DataFrame):
        header = list(table.columns)
        table = table.itertuples(index=False, name=None)
    lines = ["| " + " | ".join(map(str, header)) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in table]
    return "\n".join(lines)


def write_markdown(path, title, body, command=None, machine=None, note=None):
    """Write ``body`` under a header with the command (default: this
    process's), the machine line (default: now) and ``note`` if given."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# {title}\n\n- Command: `{command or command_line()}`\n"
        f"- Machine: {machine or machine_info()}\n\n"
    )
    if note:
        header += f"**Note.** {note}\n\n"
    path.write_text(header + body.rstrip() + "\n")
    print(f"wrote {path}", flush=True)


def protocol(doc):
    """A study's docstring without its title line and usage: the protocol,
    written once and quoted at the top of its report."""
    return doc.split("\n\n", 1)[1].split("\nUsage")[0].strip() + "\n"


def runs_section(results, csv_path):
    """Report lines listing the commands found in a results CSV."""
    commands = sorted(set(results["command"].dropna()))
    return [
        "\n## Runs that produced the CSV\n",
        *(f"- `{c}`" for c in commands),
        f"\nRaw rows: `{Path(csv_path).name}`.",
    ]


def mean_std(values, digits=3):
    """``"m ± s"`` of a Series (``"m"`` for one value, ``""`` for none)."""
    values = values.dropna()
    if values.empty:
        return ""
    if len(values) == 1:
        return f"{values.iloc[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def ordered(names, order):
    """``names`` in the order of ``order``, the others after, sorted."""
    names = list(names)
    return [n for n in order if n in names] + sorted(set(names) - set(order))


def grid(
    frame, index, columns, value, cell=mean_std, rows=(), cols=(), best=None, front=()
):
    """A DataFrame of ``cell(values)`` for each (``index``, ``columns``)
    group of ``frame[value]`` ("mean ± std" by default), the row and column
    names in the orders ``rows`` and ``cols`` first; "" where none ran.
    ``best="max"`` (or ``"min"``) puts the best mean of each row in bold;
    ``front`` (``{name: Series by row}``) are columns put first."""
    groups = frame.groupby([index, columns])[value]
    table, means = groups.apply(cell).unstack(), groups.mean().unstack()
    order = dict(index=ordered(table.index, rows), columns=ordered(table.columns, cols))
    table, means = table.reindex(**order), means.reindex(**order)
    if best:
        top = means.max(axis=1) if best == "max" else means.min(axis=1)
        table = table.mask(means.eq(top, axis=0), "**" + table + "**")
    table = table.fillna("")
    for position, (name, values) in enumerate(dict(front).items()):
        table.insert(position, name, values)
    return table


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# The detector ranking moved beside the anomaly studies; ``anomaly`` still
# imports it from here until its import names that module.
from benchmarks.configs._detector_ranking import (  # noqa: E402, F401
    auc_table,
    plot_ranks,
    skvae_vs_iforest,
    summarize,
    summary_table,
)
