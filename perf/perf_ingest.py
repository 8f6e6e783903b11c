"""Benchmark 2: ingest wall time of one folder of long documents, three pipelines side by side.

- LlamaIndex: SimpleDirectoryReader -> IngestionPipeline(SentenceSplitter(chunk_size=512 tokens of the
  model's tokenizer), HuggingFaceEmbedding(all-MiniLM-L6-v2)) -> QdrantVectorStore (local mode); as the issue
  specifies (HuggingFaceEmbedding's default max_length: the model's max_seq_length, 256 tokens) and, for equal
  work, with ``max_length=512`` so that every token of every chunk is embedded;
- longembed chunked: 512-token chunks of every document (``--extend pcw``, every token embedded once: no
  passage vectors, ``--passages none``, for equal work);
- longembed ``pi`` at 4096 tokens (one forward pass per document, truncated at 4096 tokens);
- both again with int8 linear layers (``--dtype int8``, the CPU default for new collections without bfloat16
  matrix units; CPU only);
- on a CPU with bfloat16 matrix units (Intel AMX), both again in bfloat16 (that CPU's default), and LlamaIndex at
  equal work in bfloat16 too (``model_kwargs={"torch_dtype": torch.bfloat16}``), so that the comparison is at
  equal precision as well.

The folder holds ``--docs`` QMSum meetings of 5k-20k tokens. Models are loaded before timing; each run
writes to a fresh store. Medians of ``--runs`` runs.

    python perf/perf_ingest.py [--docs 30] [--runs 3] [--data ../shared/data/longembed]
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import replace
import tempfile
from pathlib import Path

from perf_common import SHARED_DATA, median_time, qmsum_corpus, save
from longembed.settings import RunOptions


def build_folder(data: Path, n_docs: int, out: Path, tokenizer) -> int:
    docs = sorted(qmsum_corpus(data), key=lambda d: d["doc_id"])
    total = 0
    picked = 0
    for doc in docs:
        n = len(tokenizer(doc["text"], add_special_tokens=False)["input_ids"])
        if 5000 <= n <= 20000:
            (out / f"{doc['doc_id']}.txt").write_text(doc["text"])
            total += n
            picked += 1
            if picked == n_docs:
                break
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.qdrant import QdrantVectorStore
    from qdrant_client import QdrantClient

    from longembed.encoding import Encoder
    from longembed.ingest import ingest
    from longembed.models.device import cpu_has_bfloat16_matrix_units
    from longembed.settings import IndexSettings
    from longembed.store import Store

    work = Path(tempfile.mkdtemp(prefix="perf_ingest_"))
    folder = work / "docs"
    folder.mkdir()
    chunked_settings = IndexSettings(extend="pcw", max_length=1 << 16, passages="none")
    pi_settings = IndexSettings(extend="pi", max_length=4096, passages="none")
    chunked = Encoder(chunked_settings, RunOptions(device=args.device))
    pi = Encoder(pi_settings, RunOptions(device=args.device))
    int8 = args.device == "cpu"
    if int8:
        chunked8 = Encoder(replace(chunked_settings, quantization="int8"), RunOptions("cpu"))
        pi8 = Encoder(replace(pi_settings, quantization="int8"), RunOptions("cpu"))
    bf16 = int8 and cpu_has_bfloat16_matrix_units()
    if bf16:
        chunked16 = Encoder(replace(chunked_settings, quantization="bfloat16"), RunOptions("cpu"))
        pi16 = Encoder(replace(pi_settings, quantization="bfloat16"), RunOptions("cpu"))
    total_tokens = build_folder(args.data, args.docs, folder, chunked.tokenizer)
    hf = HuggingFaceEmbedding(model_name=chunked.model_path, device=args.device, embed_batch_size=32)
    hf512 = HuggingFaceEmbedding(
        model_name=chunked.model_path, device=args.device, embed_batch_size=32, max_length=512
    )
    if bf16:
        import torch

        hf512_16 = HuggingFaceEmbedding(model_name=chunked.model_path, device=args.device, embed_batch_size=32,
                                        max_length=512, model_kwargs={"torch_dtype": torch.bfloat16})
    splitter = SentenceSplitter(chunk_size=512, chunk_overlap=0, tokenizer=chunked.tokenizer.tokenize)

    def fresh(name: str) -> Path:
        path = work / name
        shutil.rmtree(path, ignore_errors=True)
        return path

    embedded_tokens: dict[str, int] = {}
    stages: dict[str, dict[str, float]] = {}

    def run_llama_index(embedding, label: str) -> None:
        client = QdrantClient(path=str(fresh("li_store")))
        store = QdrantVectorStore(client=client, collection_name="li")
        documents = SimpleDirectoryReader(str(folder)).load_data()
        nodes = IngestionPipeline(transformations=[splitter, embedding], vector_store=store).run(documents=documents)
        client.close()
        limit = embedding._model.max_seq_length  # what sentence-transformers feeds the model, special tokens included
        embedded_tokens[label] = sum(
            min(len(chunked.tokenizer(n.get_content(), add_special_tokens=True)["input_ids"]), limit) for n in nodes
        )

    def run_longembed(encoder: Encoder, name: str) -> None:
        with Store(path=fresh(name)) as store:
            summary = ingest(folder, encoder.settings, store, "c", encoder=encoder, progress=False)
        embedded_tokens[name] = summary.tokens
        stages[name] = summary.stage_seconds

    results = {"benchmark": "ingest wall time", "documents": args.docs, "tokens": total_tokens}
    rows = [
        ("llama_index_s", lambda: run_llama_index(hf, "llama_index")),
        ("llama_index_512_s", lambda: run_llama_index(hf512, "llama_index_512")),
        ("longembed_chunked_s", lambda: run_longembed(chunked, "chunked_store")),
        ("longembed_pi4096_s", lambda: run_longembed(pi, "pi_store")),
    ]
    if int8:
        rows += [
            ("longembed_chunked_int8_s", lambda: run_longembed(chunked8, "chunked_int8_store")),
            ("longembed_pi4096_int8_s", lambda: run_longembed(pi8, "pi_int8_store")),
        ]
    if bf16:
        rows += [
            ("llama_index_512_bfloat16_s", lambda: run_llama_index(hf512_16, "llama_index_512_bfloat16")),
            ("longembed_chunked_bfloat16_s", lambda: run_longembed(chunked16, "chunked_bfloat16_store")),
            ("longembed_pi4096_bfloat16_s", lambda: run_longembed(pi16, "pi_bfloat16_store")),
        ]
    for label, fn in rows:
        median, runs = median_time(fn, args.runs)
        results[label] = median
        results[label.replace("_s", "_runs_s")] = runs
        print(f"{label}: {median:.1f} s {['%.1f' % r for r in runs]}", flush=True)
    results["embedded_tokens"] = embedded_tokens
    results["longembed_stage_seconds_last_run"] = stages
    results["speedup_chunked_vs_llama_index"] = results["llama_index_s"] / results["longembed_chunked_s"]
    results["speedup_chunked_vs_llama_index_512"] = results["llama_index_512_s"] / results["longembed_chunked_s"]
    results["pi4096_over_chunked"] = results["longembed_pi4096_s"] / results["longembed_chunked_s"]
    if int8:
        results["speedup_chunked_int8_vs_llama_index_512"] = (
            results["llama_index_512_s"] / results["longembed_chunked_int8_s"])
        results["speedup_int8_vs_float32"] = {
            "chunked": results["longembed_chunked_s"] / results["longembed_chunked_int8_s"],
            "pi4096": results["longembed_pi4096_s"] / results["longembed_pi4096_int8_s"],
        }
    if bf16:
        results["speedup_chunked_bfloat16_vs_llama_index_512"] = (
            results["llama_index_512_s"] / results["longembed_chunked_bfloat16_s"])
        results["speedup_chunked_bfloat16_vs_llama_index_512_bfloat16"] = (
            results["llama_index_512_bfloat16_s"] / results["longembed_chunked_bfloat16_s"])
    results["targets"] = {"speedup_chunked_vs_llama_index": ">= 2.0", "pi4096_over_chunked": "<= 1.5"}
    print({k: v for k, v in results.items() if not k.endswith("runs_s")})
    save("perf_ingest", results)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
