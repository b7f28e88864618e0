"""Sphinx configuration of the skvae documentation.

Build (from the repository root)::

    pip install -e ".[docs]"
    SKVAE_DOCS_QUICK=1 python -m sphinx -W --keep-going -b html docs docs/_build/html

``SKVAE_DOCS_QUICK=1`` makes the gallery examples train for a few epochs only.
"""

import os
import re
import warnings
from pathlib import Path

import torch
from sklearn.exceptions import ConvergenceWarning

import skvae

DOCS = Path(__file__).resolve().parent
RESULTS = DOCS.parent / "benchmarks" / "results"
QUICK = os.environ.get("SKVAE_DOCS_QUICK") == "1"

project = "skvae"
author = "the skvae developers"
copyright = "the skvae developers"
version = release = skvae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
try:
    import myst_parser  # noqa: F401
except ImportError:
    HAVE_MYST = False
else:
    HAVE_MYST = True
    extensions.append("myst_parser")
    myst_enable_extensions = []

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "README.md",
    "**/README.md",
    "examples",
    "gen_modules/benchmarks",
]
# The benchmark reports are written by scripts, not by hand: a skipped heading
# level in one of them is not worth failing the build.
suppress_warnings = ["myst.header"]
root_doc = "index"

# -- API reference -------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# Docstrings inherited from scikit-learn (get_params, set_output, ...) link to
# labels of scikit-learn's own documentation, which intersphinx cannot reach
# offline: point the known ones at scikit-learn's site, show the others as
# plain text.
SKLEARN_DOCS = "https://scikit-learn.org/stable/"
SKLEARN_LABELS = {
    # label: (page, link text when the reference gives none)
    "metadata_routing": ("metadata_routing.html", "Metadata routing"),
    "df_output_transform": ("auto_examples/miscellaneous/plot_set_output.html", None),
    "sphx_glr_auto_examples_miscellaneous_plot_set_output.py": (
        "auto_examples/miscellaneous/plot_set_output.html",
        "scikit-learn's set_output example",
    ),
}
REF = re.compile(r":ref:`(?:([^`<]*?)\s*<([^`>]+)>|([^`<>]+))`")


def _sklearn_ref(match):
    text, label = match.group(1), match.group(2)
    if label is None:
        label = match.group(3)
    page, default_text = SKLEARN_LABELS.get(label, (None, None))
    text = text or default_text or label
    if page is None:
        return f"{text} (scikit-learn documentation)"
    return f"`{text} <{SKLEARN_DOCS}{page}>`__"


TERM = re.compile(r":term:`(?:([^`<]*?)\s*<([^`>]+)>|([^`<>]+))`")


def _sklearn_term(match):
    """A :term: of scikit-learn's glossary (e.g. in the metadata-routing
    methods it generates, ``set_partial_fit_request``), linked to it."""
    text, term = match.group(1), match.group(2) or match.group(3)
    slug = term.strip().lower().replace(" ", "-")
    return f"`{text or term} <{SKLEARN_DOCS}glossary.html#term-{slug}>`__"


# A bare ``name_`` in reStructuredText is a hyperlink reference; fitted
# attribute names in type descriptions must be quoted, as scikit-learn does
# ("ndarray of shape (`n_features_in_`,)"). Until every docstring in skvae/
# quotes them, quote the one that occurs unquoted.
BARE_ATTRIBUTE = re.compile(r"(?<![`\w*])(n_features_in_)(?![`\w])")


def process_docstring(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", "") or ""
    for i, line in enumerate(lines):
        if module.startswith("sklearn"):
            line = REF.sub(_sklearn_ref, line)
            line = TERM.sub(_sklearn_term, line)
        lines[i] = BARE_ATTRIBUTE.sub(r"``\1``", line)


# -- Gallery -------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skvae",),
    "backreferences_dir": "gen_modules/backreferences",
    "remove_config_comments": True,
    "show_memory": False,
    # No execution-time pages: they would be written into the source tree.
    "write_computation_times": False,
    "min_reported_time": 1,
    # A failing example fails the build.
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
}
# The gallery's models are tiny: one torch thread per build is about as fast
# as several, and does not fight other processes for the cores. Set
# OMP_NUM_THREADS to choose another number.
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
if QUICK:
    # Quick builds stop training early on purpose: the warning says so.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skvae {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_static_path = []
html_show_sourcelink = False

# -- Benchmarks page -----------------------------------------------------------
# Result files written by the studies in benchmarks/ (python -m benchmarks
# <study>), in the order shown.
# A missing file gets a note instead of failing the build.
BENCHMARK_RESULTS = [
    ("anomaly", "python -m benchmarks anomaly"),
    ("oneclass", "python -m benchmarks oneclass"),
    ("features", "python -m benchmarks features"),
    ("likelihood", "python -m benchmarks likelihood"),
    (
        "likelihood_latent",
        "python -m benchmarks likelihood --name likelihood_latent --contenders "
        "standard,vamp,flow,hierarchy,vamp_flow_hierarchy --cpu-minutes 6 "
        "--test-rows 500 --epochs-per-call 2 --check-rows 50 --epochs 1000",
    ),
    ("speed", "python -m benchmarks speed"),
    ("threads", "python -m benchmarks threads"),
    ("missing", "python -m benchmarks missing"),
    (
        "missing_default",
        "python -m benchmarks missing --name missing_default --rates 0.3 "
        "--seeds 1,2,3",
    ),
    ("tables", "python -m benchmarks tables"),
    ("flights", "python -m benchmarks flights"),
    ("scale", "python -m benchmarks scale"),
    (
        "scale_quiet",
        "python -m benchmarks scale --datasets flights_hard,flights,diamonds,ames "
        "--sizes 50000,100000,full --rounds 3 --name scale_quiet",
    ),
    (
        "scale_large",
        "python -m benchmarks scale --datasets flights_hard --sizes 1400000 "
        "--rounds 1 --name scale_large",
    ),
    ("detector_max_categories", "python -m benchmarks detector_max_categories"),
    ("transformer_max_categories", "python -m benchmarks transformer_max_categories"),
    ("score_floor", "python -m benchmarks score_floor --rows 20000"),
    ("dask_scale", "python -m benchmarks dask_scale"),
    ("imputation", "python -m benchmarks imputation"),
    ("imputation_defaults", "python -m benchmarks imputation_defaults"),
    ("synthesis", "python -m benchmarks synthesis"),
    (
        "synthesis_latent",
        "python -m benchmarks synthesis --contenders skvae,skvae-vamp,"
        "skvae-hierarchy --seeds 1,2,3 --datasets all --name synthesis_latent",
    ),
    ("semisupervised", "python -m benchmarks semisupervised"),
    (
        "semisupervised_dev",
        "the scripts of benchmarks/results/semisupervised_dev/ at commit cfbb4cc",
    ),
    ("mnist_semisupervised", "python -m benchmarks mnist_semisupervised"),
    ("conditional", "python -m benchmarks conditional"),
    ("anomaly_defaults", "python -m benchmarks anomaly_defaults"),
    (
        "anomaly_width",
        "python -m benchmarks anomaly_defaults --contenders default,hidden128-64,"
        "hidden256-128 --datasets all --seeds 1,2,3 --name anomaly_width",
    ),
    (
        "anomaly_budget",
        "python -m benchmarks anomaly_defaults --contenders default,"
        "steps500-everywhere --datasets all --seeds 1,2,3 --name anomaly_budget",
    ),
    (
        "anomaly_cost",
        "python -m benchmarks anomaly --contenders skvae,IForest,ECOD,pyod-VAE "
        "--seeds 1 --name anomaly_cost",
    ),
    (
        "anomaly_cost_quiet",
        "python -m benchmarks anomaly --contenders skvae,IForest,ECOD "
        "--seeds 1 --name anomaly_cost_quiet",
    ),
    (
        "anomaly_small_budget",
        "python -m benchmarks anomaly_defaults --contenders default,"
        "small-epochs100,small-epochs50 --datasets <the 19 smallest> --seeds 1,2,3 "
        "--name anomaly_small_budget",
    ),
    (
        "anomaly_latent",
        "python -m benchmarks anomaly --contenders skvae,skvae-vamp,"
        "skvae-hierarchy,IForest --seeds 1 --name anomaly_latent",
    ),
    (
        "oneclass_latent",
        "python -m benchmarks oneclass --contenders skvae,skvae-vamp,"
        "skvae-hierarchy,KNN,LOF,IForest --seeds 1 --name oneclass_latent",
    ),
    ("anomaly_scaling", "python -m benchmarks anomaly_scaling"),
    ("fit_cost", "python -m benchmarks fit_cost"),
    ("feature_defaults", "python -m benchmarks feature_defaults"),
    ("loss_diagnosis", "python -m benchmarks loss_diagnosis"),
    ("trimmed_scale", "the script in benchmarks/results/trimmed_scale.md"),
]


GENERATED_RESULTS = DOCS / "gen_modules" / "benchmarks"
MARKDOWN_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


def _relocate_link(match):
    """Make a link of a result file work from docs/benchmarks.rst."""
    bang, text, target = match.groups()
    if re.match(r"[a-z]+:|#", target):
        return match.group(0)
    path = (RESULTS / target).resolve()
    if bang:
        # Images resolve relative to the including page, docs/benchmarks.rst.
        return f"![{text}]({os.path.relpath(path, DOCS)})"
    # Other files of the repository (CSV, scripts) are not part of the site.
    return f"{text} (`{os.path.relpath(path, DOCS.parent)}`)"


def benchmark_results_rst():
    """reStructuredText that includes every benchmark result file present."""
    lines = []
    for name, command in BENCHMARK_RESULTS:
        markdown = RESULTS / f"{name}.md"
        figure = RESULTS / f"{name}.png"
        if not markdown.exists():
            lines += [
                f".. note:: ``benchmarks/results/{name}.md`` is not in this "
                f"checkout yet; ``{command}`` writes it.",
                "",
            ]
            continue
        text = markdown.read_text(encoding="utf-8")
        if HAVE_MYST:
            generated = GENERATED_RESULTS / f"{name}.md"
            generated.parent.mkdir(parents=True, exist_ok=True)
            relocated = MARKDOWN_LINK.sub(_relocate_link, text)
            if not generated.exists() or generated.read_text("utf-8") != relocated:
                generated.write_text(relocated, encoding="utf-8")
            relative = os.path.relpath(generated, DOCS)
            lines += [f".. include:: {relative}", "   :parser: myst_parser.sphinx_", ""]
        else:
            lines += [
                f"``benchmarks/results/{name}.md`` (install myst-parser to render "
                "it as a page):",
                "",
                f".. literalinclude:: {os.path.relpath(markdown, DOCS)}",
                "   :language: markdown",
                "",
            ]
        if figure.exists() and figure.name not in text:
            lines += [f".. image:: {os.path.relpath(figure, DOCS)}", ""]
    return "\n".join(lines)


def insert_benchmark_results(app, docname, source):
    if docname == "benchmarks":
        source[0] = source[0].replace(
            ".. benchmark-results-go-here", benchmark_results_rst()
        )


def rebuild_benchmarks(app, env, added, changed, removed):
    # Result files appear and change outside Sphinx's view: always reread.
    return ["benchmarks"]


def setup(app):
    app.connect("source-read", insert_benchmark_results)
    app.connect("autodoc-process-docstring", process_docstring)
    app.connect("env-get-outdated", rebuild_benchmarks)
