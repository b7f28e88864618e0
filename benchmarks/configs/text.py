"""Topic models on two corpora: a topic VAE against LDA and NMF.

Two corpora of ``../shared/data/text/``: ``news`` (``news_articles.parquet``,
3 823 articles from 9 sources, Dec 2016 - Mar 2017, title and text joined;
the label is the source) and ``rotten_tomatoes`` (``rotten_tomatoes.parquet``,
13 891 review snippets and plot summaries, median 19 words; the label is
fresh / rotten / plot). Each is split 80/20 stratified by its label
(``random_state`` = the seed). Each contender is a
``Pipeline(CountVectorizer(stop_words="english", min_df=5,
max_df=0.5, token_pattern=r"(?u)\\b[a-zA-Z][a-zA-Z]+\\b"), topic model)``
fitted on the training documents' raw text, 20 and 50 topics:

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
predicting the label from the training documents' topic features
(``transform``: LDA's and the VAE's topic proportions, NMF's
activations); the pipeline's fit time (wall clock, one thread) and its
ratio to LDA's in the same run.

Usage::

    python -m benchmarks text              # full run, resumable
    python -m benchmarks text --quick      # smoke test for CI, < 60 s
    python -m benchmarks text --datasets news --topics 20 --seeds 0,1
    python -m benchmarks text --report-only   # rebuild .md from .json
    python -m benchmarks text --vae "dropout=0.2" --vae "learning_rate_init=1e-2"

Each ``--vae`` adds a VAE row with those parameters (comma-separated
``name=value``, Python literals) on top of the defaults. Writes the raw
results ``text.json`` after every case (corpus, topics, seed, contender),
then ``text.md``; a case already in ``text.json`` is not run again (delete
the file for a fresh run).
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

SEEDS = [0, 1]
N_TOPICS = [20, 50]
CORPORA = ["news", "rotten_tomatoes"]
QUICK = {"seeds": [0]}
TOKEN_PATTERN = r"(?u)\b[a-zA-Z][a-zA-Z]+\b"


def add_arguments(parser):
    parser.add_argument(
        "--vae",
        action="append",
        default=[],
        help="a VAE row's parameters, comma-separated name=value (repeatable)",
    )
    parser.add_argument(
        "--topics", default=None, help="comma-separated numbers of topics"
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


def load_corpus(name, quick):
    """Documents and their labels: the news articles (title and text) and
    their sources, or the Rotten Tomatoes snippets and their categories."""
    if name == "news":
        frame = pd.read_parquet(data.data_dir() / "text" / "news_articles.parquet")
        if quick:  # every tenth article: a smoke test
            frame = frame.iloc[::10]
        title, text = frame["title"].fillna(""), frame["text"].fillna("")
        return (title + "\n" + text).tolist(), frame["source"].to_numpy()
    frame = pd.read_parquet(data.data_dir() / "text" / "rotten_tomatoes.parquet")
    if quick:  # every fortieth snippet: a smoke test
        frame = frame.iloc[::40]
    return frame["text"].fillna("").tolist(), frame["category"].to_numpy()


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
    corpora = args.datasets or CORPORA
    if args.topics:
        topic_counts = [int(k) for k in args.topics.split(",")]
    else:
        topic_counts = [5] if args.quick else N_TOPICS
    json_path = path.with_suffix(".json")
    results = (
        json.loads(json_path.read_text())
        if json_path.exists() and not args.quick
        else dict(rows=[])
    )
    done = {
        (
            row.get("corpus", "news"),
            row["n_topics"],
            row["seed"],
            row["contender"],
            row["params"],
        )
        for row in results["rows"]
        if "n_topics" in row
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    for corpus in corpora:
        docs, labels = load_corpus(corpus, args.quick)
        for n_topics in topic_counts:
            for seed in args.seeds:
                docs_train, docs_test, y_train, y_test = train_test_split(
                    docs, labels, test_size=0.2, stratify=labels, random_state=seed
                )
                split = (docs_train, docs_test, y_train, y_test, docs)
                for name, shown, model in contenders(args, seed, n_topics, args.quick):
                    if (corpus, n_topics, seed, name, shown) in done:
                        continue
                    print(f"{corpus}, {n_topics} topics, seed {seed}:", end=" ")
                    row = evaluate(name, shown, model, split)
                    results["rows"].append(
                        {
                            "corpus": corpus,
                            "n_topics": n_topics,
                            "seed": seed,
                            "n_docs": len(docs),
                            "command": command_line(),
                            **row,
                        }
                    )
                    results.update(
                        command=command_line(), machine=machine_info(), uptime=uptime()
                    )
                    json_path.write_text(json.dumps(results, indent=1))


def report(stem, args):
    """Write ``<stem>.md`` from ``<stem>.json``."""
    if not stem.with_suffix(".json").exists():
        return
    r = json.loads(stem.with_suffix(".json").read_text())
    rows = r["rows"]
    for row in rows:  # rows of a run before the corpora and topic counts
        row.setdefault("corpus", "news")
        row.setdefault("n_topics", r.get("n_topics"))
        row.setdefault("command", r["command"])
    commands = "\n".join(
        f"- `{c}`" for c in dict.fromkeys(row["command"] for row in rows)
    )
    lda = {
        (row["corpus"], row["n_topics"], row["seed"]): row["seconds"]
        for row in rows
        if row["contender"] == "LDA"
    }

    def ratio(row):
        key = (row["corpus"], row["n_topics"], row["seed"])
        return row["seconds"] / lda[key] if key in lda else float("nan")

    header = [
        "corpus",
        "topics",
        "model",
        "parameters",
        "seeds",
        "NPMI (top 10)",
        "diversity (top 25)",
        "label accuracy",
        "fit time / LDA's",
    ]
    groups = {}
    for row in rows:
        key = (row["corpus"], row["n_topics"], row["contender"], row["params"])
        groups.setdefault(key, []).append(row)
    summary = [
        [
            corpus,
            n_topics,
            name,
            f"`{params}`",
            ", ".join(str(row["seed"]) for row in group),
            *(
                f"{np.mean([row[m] for row in group]):.3f}"
                for m in ("npmi", "diversity", "accuracy")
            ),
            f"{np.mean([ratio(row) for row in group]):.2f}",
        ]
        for (corpus, n_topics, name, params), group in groups.items()
    ]
    detail_header = [
        "corpus",
        "topics",
        "seed",
        "model",
        "parameters",
        "NPMI (top 10)",
        "diversity (top 25)",
        "label accuracy",
        "fit seconds",
        "fit time / LDA's",
    ]
    cells = [
        [
            row["corpus"],
            row["n_topics"],
            row["seed"],
            row["contender"],
            f"`{row['params']}`",
            f"{row['npmi']:.3f}",
            f"{row['diversity']:.3f}",
            f"{row['accuracy']:.3f}",
            f"{row['seconds']:.1f}",
            f"{ratio(row):.2f}",
        ]
        for row in rows
    ]
    words = [
        f"- {row['corpus']}, {row['n_topics']} topics, {row['contender']} "
        f"`{row['params']}` (seed {row['seed']}): " + "; ".join(row["top_words"])
        for row in rows
        if row["seed"] == min(r_["seed"] for r_ in rows)
    ]
    vocabularies = {}
    for row in rows:
        vocabularies.setdefault(row["corpus"], set()).add(row["n_words"])
    sizes = "; ".join(
        f"{corpus}: {', '.join(map(str, sorted(v)))} words"
        for corpus, v in vocabularies.items()
    )
    body = f"""
The runs whose cases the tables gather (the header names the last):

{commands}

Vocabularies (the training split's, per seed): {sizes}. `uptime` when the
last case ended: `{r["uptime"]}`. Fit seconds are wall clock on a shared
machine (the ratio to LDA's, fitted just before in the same process, is
what compares): indicative only.

## Means over the seeds

{markdown_table(summary, header)}

## Every case

{markdown_table(cells, detail_header)}

## Top words of the first topics (first seed)

{chr(10).join(words)}

## Protocol

{__doc__.split(chr(10) + chr(10), 1)[1].split(chr(10) + "Usage")[0].strip()}
"""
    title = "Topic models on news articles and film reviews: VAE, LDA and NMF"
    note = getattr(args, "note", None)
    write_markdown(
        stem.with_suffix(".md"),
        title,
        body,
        command=r["command"],
        machine=r["machine"],
        note=note,
    )
