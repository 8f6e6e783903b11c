"""Running the benchmark through the real index: ingest -> Qdrant -> retriever -> metrics.

For every method and every scoring unit (a real task, or one context length of a synthetic task) the corpus is
ingested with :func:`longembed.ingest.ingest_documents` into its own Qdrant collection
``<task>[-<length>]-<method>``, every query goes through :class:`longembed.retrieve.Retriever`, and the ranked
lists are scored with :func:`longembed.bench.metrics.evaluate`. Document embeddings come from the on-disk
:class:`~longembed.bench.cache.EmbeddingCache` when already computed, except for the passage methods, which are
encoded in every run (:class:`~longembed.bench.cache.PlainEncoder`) and also get ``loc@1`` on synthetic units
(:mod:`longembed.bench.localisation`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import platform
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from longembed.bench.cache import CachedEncoder, EmbeddingCache, PlainEncoder, text_sha256
from longembed.bench.data import load_tasks
from longembed.bench.defaults import DEFAULT_METHODS, DEFAULT_TASKS
from longembed.bench.localisation import localisation
from longembed.bench.methods import BenchMethod, resolve_methods
from longembed.bench.metrics import evaluate
from longembed.bench.report import write_report, write_results
from longembed.bench.results import BenchRun, CellResult
from longembed.bench.task_data import TaskSplit, make_splits
from longembed.encoding import Encoder
from longembed.models.paths import with_model_defaults
from longembed.errors import BenchError, ExtensionError
from longembed.ingest import SourceDocument, ingest_documents
from longembed.retrieve import Retriever
from longembed.settings import DEFAULT_MAX_LENGTH, DEFAULT_MODEL
from longembed.store import VectorStore, open_store
from longembed.settings import RunOptions

log = logging.getLogger(__name__)

RUN_DEPTH = 10
"""Documents retrieved per query (enough for nDCG@10 and Recall@10)."""
FLOAT_BYTES = 4


@dataclass
class BenchConfig:
    """Everything a bench run depends on (recorded in results.json).

    Attributes:
        tasks: task names (folders of ``data``, or configurations of the hub dataset).
        lengths: context lengths (tokens) to score synthetic tasks at; ``None``: every length a task has.
        methods: method names (see :mod:`longembed.bench.methods`).
        model, max_length, query_prefix, document_prefix: as for ``longembed ingest`` (max_length is L_t).
        data: a LongEmbed-format directory; ``None`` loads the hub dataset ``dwzhu/LongEmbed``.
        limit: queries per task / length (first ones in file order); ``None``: all.
        max_docs: cut each corpus to this many documents, relevant ones kept (quick runs; easier retrieval).
        out: folder of the report (results.json, report.md, synthetic.png).
        cache: the embedding cache file; ``None``: ``<out>/embeddings-cache.sqlite``.
        keep_index: keep the Qdrant collections in ``<out>/index`` instead of a temporary store.
        device, dtype, batch_tokens: passed to the encoder (``auto`` dtype: bfloat16 on a CUDA GPU, else float32;
            ``None`` batch tokens: the device's default).
        compare: add the long-context vs chunked comparison (with encode time) to report.md.
        command: the command line that started the run (recorded in the report).
    """

    tasks: Sequence[str] = DEFAULT_TASKS
    lengths: Sequence[int] | None = None
    methods: Sequence[str] = DEFAULT_METHODS
    model: str = DEFAULT_MODEL
    max_length: int = DEFAULT_MAX_LENGTH
    data: str | None = None
    limit: int | None = None
    max_docs: int | None = None
    out: str = "bench-results"
    cache: str | None = None
    keep_index: bool = False
    device: str = "auto"
    dtype: str = "auto"
    batch_tokens: int | None = None
    query_prefix: str | None = None
    document_prefix: str | None = None
    progress: bool = True
    compare: bool = False
    command: str | None = None

    def validate(self) -> None:
        """Raises BenchError for an empty task list, a non-positive length, limit or max_docs."""
        if not [t for t in self.tasks if t.strip()]:
            raise BenchError("give at least one task")
        if self.lengths is not None and (not self.lengths or any(n <= 0 for n in self.lengths)):
            raise BenchError(f"--lengths must be positive numbers of tokens, got {list(self.lengths)}")
        for name in ("limit", "max_docs"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise BenchError(f"--{name.replace('_', '-')} must be at least 1, got {value}")


def _versions() -> dict[str, Any]:
    from importlib import metadata

    out: dict[str, Any] = {"python": platform.python_version()}
    for dist in ("longembed", "torch", "transformers", "qdrant-client", "pytrec-eval-terrier", "numpy", "datasets"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def environment() -> dict[str, Any]:
    """Package versions, date and machine of a run."""
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": _versions(),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
        },
    }


def collection_name(split: TaskSplit, method: BenchMethod) -> str:
    length = f"-{split.context_length}" if split.context_length is not None else ""
    return f"{split.info.name}{length}-{method.name}"


@contextlib.contextmanager
def _quiet_ingest() -> Iterator[None]:
    """Silence the ingest step's per-document truncation warnings (the bench counts truncated documents)."""
    logger = logging.getLogger("longembed.ingest.pipeline")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def run_cell(
    split: TaskSplit, method: BenchMethod, encoder: CachedEncoder | PlainEncoder, store: VectorStore, keep_index: bool
) -> CellResult:
    """Ingest ``split``'s corpus for ``method``, run its queries through the retriever, score them (and, for a
    passage method, where its best passages are: ``loc@1``)."""
    collection = collection_name(split, method)
    store.delete_collection(collection)  # a previous run's collection may hold other documents
    documents = [SourceDocument(d.doc_id, d.doc_id, d.text, text_sha256(d.text)) for d in split.corpus]
    encoder.reset_counters()
    with _quiet_ingest():
        summary = ingest_documents(
            documents,
            encoder.settings,
            store,
            collection,
            encoder=encoder,  # type: ignore[arg-type]  # a cache in front of the real encoder
            progress=False,
            with_windows=method.with_windows,
            sparse=method.sparse,
        )
    retriever = Retriever(store=store, collection=collection, encoder=encoder.encoder)
    k = min(RUN_DEPTH, len(documents))
    started = time.perf_counter()
    rankings: dict[str, list[str]] = {}
    tops: dict[str, tuple[str, str | None]] = {}  # qid -> (top-1 path, its best passage's text)
    for q in split.queries:
        hits = retriever.search(q.text, k=k, using=method.using, mode=method.mode, fusion=method.fusion)
        rankings[q.qid] = [h["path"] for h in hits]
        if hits:
            tops[q.qid] = (hits[0]["path"], (hits[0]["passage"] or {}).get("text"))
    search_seconds = time.perf_counter() - started
    metrics = evaluate(split.qrels, rankings)
    vectors = store.vector_counts(collection)
    if not keep_index:
        store.delete_collection(collection)
    return CellResult(
        task=split.info.name,
        kind=split.info.kind,
        context_length=split.context_length,
        method=method.name,
        collection=collection,
        n_queries=len(split.queries),
        n_documents=len(documents),
        total_queries=split.total_queries,
        total_documents=split.total_documents,
        metrics=metrics,
        main_metric=split.info.main_metric,
        main_score=metrics[split.info.main_metric],
        encode_seconds=encoder.seconds,
        encode_seconds_this_run=encoder.computed_seconds,
        documents_computed=encoder.computed,
        documents_cached=encoder.reused,
        tokens=summary.tokens,
        truncated_documents=len(summary.truncated),
        index_vectors=vectors,
        index_bytes=sum(vectors.values()) * encoder.dimension * FLOAT_BYTES,
        search_seconds=search_seconds,
        localisation=localisation(split, tops) if method.has_passages else None,
    )


def run_bench(config: BenchConfig) -> BenchRun:
    """Run every method on every task split, write the report into ``config.out`` and return the run.

    results.json is rewritten after every cell (``"complete": false`` until the end), so an interrupted
    run leaves its finished numbers; re-running the same command recomputes only uncached embeddings.

    Raises:
        BenchError: bad configuration, no data source, or no task/method that could run.
        ModelLoadError: the model cannot be loaded.
    """
    config.validate()
    methods = resolve_methods(config.methods)
    loaded = load_tasks([t.strip() for t in config.tasks if t.strip()], config.data)
    splits: list[TaskSplit] = []
    missing = list(loaded.missing)
    for task in loaded.tasks:
        task_splits, absent = make_splits(task, config.lengths, config.limit, config.max_docs)
        splits.extend(task_splits)
        missing.extend(absent)
    for item in missing:
        where = f"{item['task']}@{item['context_length']}" if "context_length" in item else item["task"]
        log.warning("skipped %s: %s", where, item["reason"])
    if not splits:
        reasons = "; ".join(f"{m['task']}: {m['reason']}" for m in missing[:4])
        raise BenchError(f"no task could be loaded ({reasons})")
    out = Path(config.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    run = BenchRun(
        config={**asdict(config), "tasks": list(config.tasks), "methods": [m.name for m in methods],
                "lengths": list(config.lengths) if config.lengths is not None else None,
                "data": str(Path(config.data).resolve()) if config.data else None, "run_depth": RUN_DEPTH},
        environment=environment(),
        methods={m.name: m.describe() for m in methods},
        data_sources={t.info.name: t.source for t in loaded.tasks},
        missing=missing,
    )
    cache = EmbeddingCache(Path(config.cache) if config.cache else out / "embeddings-cache.sqlite")
    with contextlib.ExitStack() as stack:
        stack.callback(cache.close)
        index_dir = out / "index" if config.keep_index else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        store = open_store(index_dir)
        stack.callback(store.close)
        bar = stack.enter_context(tqdm(total=len(methods) * len(splits), unit="run", disable=not config.progress))
        for method in methods:
            settings = method.settings(config.model, config.max_length, config.query_prefix, config.document_prefix)
            settings = with_model_defaults(settings)  # None -> the model's own prompts
            try:
                encoder = Encoder(settings, RunOptions(device=config.device, batch_tokens=config.batch_tokens, dtype=config.dtype))
            except ExtensionError as exc:
                run.skipped_methods.append({"method": method.name, "reason": str(exc)})
                log.warning("skipped method %s: %s", method.name, exc)
                bar.update(len(splits))
                continue
            run.methods[method.name] = method.describe(encoder.extender)  # resolved for this model
            if not run.model:
                run.model = {
                    "model": config.model,
                    "path": encoder.model_path,
                    "position_encoding": encoder.positions.kind,
                    "original_length": encoder.original_length,
                    "dimension": encoder.dimension,
                    "pooling": encoder.pooling,
                    "device": str(encoder.device),
                    "dtype": str(encoder.dtype).removeprefix("torch."),
                }
            cached = PlainEncoder(encoder) if method.has_passages else CachedEncoder(encoder, cache)
            for split in splits:
                bar.set_description(f"{method.name} {split.name}")
                cell = run_cell(split, method, cached, store, config.keep_index)
                run.results.append(cell)
                bar.update(1)
                if config.progress:
                    bar.write(
                        f"{split.name:<24} {method.name:<13} {cell.main_metric}={cell.main_score:.3f}  "
                        + (f"loc@1={cell.localisation:.3f}  " if cell.localisation is not None else "")
                        + f"({cell.n_queries} queries, {cell.n_documents} docs, encode {cell.encode_seconds:.1f} s, "
                        f"{cell.documents_computed} computed)"
                    )
                write_results(run, out)
            del encoder, cached
    if not run.results:
        reasons = "; ".join(f"{m['method']}: {m['reason']}" for m in run.skipped_methods[:4])
        raise BenchError(f"no method could run on model {config.model!r} ({reasons})")
    run.complete = True
    write_report(run, out)
    return run
