"""Topic models on news articles: a topic VAE against LDA and NMF.

The news corpus of ``../shared/data/text/news_articles.parquet`` (3 823
articles from 9 sources, Dec 2016 - Mar 2017, title and text joined),
split 80/20 stratified by source (``random_state`` = the seed). Each
contender is a ``Pipeline(CountVectorizer(stop_words="english", min_df=5,
max_df=0.5, token_pattern=r"(?u)\\b[a-zA-Z][a-zA-Z]+\\b"), topic model)``
fitted on the training documents' raw text, 20 topics:

- ``LDA``: ``LatentDirichletAllocation(learning_method="batch",
  max_iter=20)``;
- ``NMF``: ``NMF(beta_loss="kullback-leibler", solver="mu",
  max_iter=200)``;
- ``VAE``: ``VAETransformer(likelihood="multinomial")``, its other
  parameters as the result table says (the defaults unless stated).

Measured per contender: NPMI of each topic's top-10 words (the largest
entries of its row of ``components_``; ``skvae.metrics.npmi_coherence``),
with the probabilities of a word and of a pair of words the fractions of
*all* documents (train and test, counted by the fitted vectorizer) that
contain them, a pair never seen together counting -1, averaged over the
pairs of a topic and then over the topics; topic diversity
(``skvae.metrics.topic_diversity``), the fraction of distinct words among
the topics' top-25 words; the accuracy on the test documents of
``make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))``
predicting the source from the training documents' topic features
(``transform``: LDA's and the VAE's topic proportions, NMF's
activations); the pipeline's fit time (wall clock, one thread) and its
ratio to LDA's in the same run.

Usage::

    python -m benchmarks text              # full run, ~10 min on 1 thread
    python -m benchmarks text --quick      # smoke test for CI, < 60 s
    python -m benchmarks text --report-only   # rebuild .md from .json
    python -m benchmarks text --vae "dropout=0.2" --vae "learning_rate_init=1e-2"

Each ``--vae`` adds a VAE row with those parameters (comma-separated
``name=value``, Python literals) on top of the defaults. Writes the raw
results ``text.json``, then ``text.md``.
"""

import ast
import json
import subprocess
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.decomposition import NMF, LatentDirichletAllocation
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks.harness import data
from benchmarks.harness.report import (
    command_line,
    machine_info,
    markdown_table,
    write_markdown,
)
from skvae import VAETransformer
from skvae.metrics import npmi_coherence, topic_diversity

SEEDS = [0]
N_TOPICS = 20
TOKEN_PATTERN = r"(?u)\b[a-zA-Z][a-zA-Z]+\b"


def add_arguments(parser):
    parser.add_argument(
        "--vae",
        action="append",
        default=[],
        help="a VAE row's parameters, comma-separated name=value (repeatable)",
    )


def vectorizer():
    return CountVectorizer(
        stop_words="english", min_df=5, max_df=0.5, token_pattern=TOKEN_PATTERN
    )


def parse_params(text):
    """``"a=1,b=(2, 3)"`` -> ``{"a": 1, "b": (2, 3)}`` (Python literals)."""
    call = ast.parse(f"f({text})", mode="eval").body
    return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}


def contenders(args, seed, n_topics, quick):
    """``[(name, parameters shown, topic model)]`` of the run."""
    lda_iter, nmf_iter = (5, 50) if quick else (20, 200)
    rows = [
        (
            "LDA",
            f"learning_method='batch', max_iter={lda_iter}",
            LatentDirichletAllocation(
                n_components=n_topics,
                learning_method="batch",
                max_iter=lda_iter,
                random_state=seed,
            ),
        ),
        (
            "NMF",
            f"beta_loss='kullback-leibler', solver='mu', max_iter={nmf_iter}",
            NMF(
                n_components=n_topics,
                beta_loss="kullback-leibler",
                solver="mu",
                max_iter=nmf_iter,
                random_state=seed,
            ),
        ),
    ]
    specs = [""] + list(args.vae)
    if quick:
        specs = ["max_iter=3"]
    for spec in specs:
        params = parse_params(spec) if spec else {}
        vae = VAETransformer(
            likelihood="multinomial",
            n_components=n_topics,
            random_state=seed,
            **params,
        )
        rows.append(("VAE", spec or "defaults", vae))
    return rows


def load_news(quick):
    """Documents (title and text) and their sources."""
    frame = pd.read_parquet(data.data_dir() / "text" / "news_articles.parquet")
    if quick:  # every tenth article: a smoke test
        frame = frame.iloc[::10]
    docs = (frame["title"].fillna("") + "\n" + frame["text"].fillna("")).tolist()
    return docs, frame["source"].to_numpy()


def top_words(components, vocabulary, n_topics=5, k=8):
    """The top-``k`` words of the first ``n_topics`` topics, one string each."""
    return [" ".join(vocabulary[np.argsort(row)[::-1][:k]]) for row in components][
        :n_topics
    ]


def evaluate(name, shown, model, split):
    docs_train, docs_test, y_train, y_test, docs_all = split
    pipeline = Pipeline([("counts", vectorizer()), ("topics", model)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        start = time.perf_counter()
        pipeline.fit(docs_train)
        seconds = time.perf_counter() - start
    features_train = pipeline.transform(docs_train)
    features_test = pipeline.transform(docs_test)
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    accuracy = classifier.fit(features_train, y_train).score(features_test, y_test)
    counts = pipeline["counts"]
    reference = counts.transform(docs_all)
    components = pipeline["topics"].components_
    vocabulary = counts.get_feature_names_out()
    row = dict(
        contender=name,
        params=shown,
        npmi=npmi_coherence(components, reference, n_top_words=10),
        diversity=topic_diversity(components, n_top_words=25),
        accuracy=float(accuracy),
        seconds=seconds,
        n_words=len(vocabulary),
        top_words=top_words(components, vocabulary),
    )
    print(
        f"{name} ({shown}): NPMI {row['npmi']:.3f}, diversity "
        f"{row['diversity']:.3f}, accuracy {accuracy:.3f}, fit {seconds:.1f} s",
        flush=True,
    )
    return row


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unavailable"


def run(args, path):
    docs, sources = load_news(args.quick)
    n_topics = 5 if args.quick else N_TOPICS
    rows = []
    for seed in args.seeds:
        docs_train, docs_test, y_train, y_test = train_test_split(
            docs, sources, test_size=0.2, stratify=sources, random_state=seed
        )
        split = (docs_train, docs_test, y_train, y_test, docs)
        for name, shown, model in contenders(args, seed, n_topics, args.quick):
            row = evaluate(name, shown, model, split)
            rows.append({"seed": seed, **row})
    results = dict(
        command=command_line(),
        machine=machine_info(),
        uptime=uptime(),
        n_docs=len(docs),
        n_topics=n_topics,
        rows=rows,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(results, indent=1))


def report(stem, args):
    """Write ``<stem>.md`` from ``<stem>.json``."""
    if not stem.with_suffix(".json").exists():
        return
    r = json.loads(stem.with_suffix(".json").read_text())
    rows = r["rows"]
    lda = {row["seed"]: row["seconds"] for row in rows if row["contender"] == "LDA"}
    header = [
        "seed",
        "model",
        "parameters",
        "NPMI (top 10)",
        "diversity (top 25)",
        "source accuracy",
        "fit seconds",
        "fit time / LDA's",
    ]
    cells = [
        [
            row["seed"],
            row["contender"],
            f"`{row['params']}`",
            f"{row['npmi']:.3f}",
            f"{row['diversity']:.3f}",
            f"{row['accuracy']:.3f}",
            f"{row['seconds']:.1f}",
            f"{row['seconds'] / lda[row['seed']]:.2f}" if row["seed"] in lda else "-",
        ]
        for row in rows
    ]
    words = [
        f"- {row['contender']} `{row['params']}` (seed {row['seed']}): "
        + "; ".join(row["top_words"])
        for row in rows
    ]
    n_words = sorted({row["n_words"] for row in rows})
    body = f"""
{r["n_docs"]} documents, {r["n_topics"]} topics, a vocabulary of
{", ".join(map(str, n_words))} words (the training split's). `uptime` when
the run ended: `{r["uptime"]}`. Fit seconds are wall clock on a shared
machine: indicative only.

{markdown_table(cells, header)}

## Top words of the first topics

{chr(10).join(words)}

## Protocol

{__doc__.split(chr(10) + chr(10), 1)[1].split(chr(10) + "Usage")[0].strip()}
"""
    title = "Topic models on news articles: VAE, LDA and NMF"
    note = getattr(args, "note", None)
    write_markdown(
        stem.with_suffix(".md"),
        title,
        body,
        command=r["command"],
        machine=r["machine"],
        note=note,
    )
