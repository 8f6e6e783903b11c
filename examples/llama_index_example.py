"""longembed in a LlamaIndex app: whole meetings embedded with a context-extended model, stored in Qdrant.

Runs offline on CPU in a minute or two (the default all-MiniLM-L6-v2 ships with longembed; no LLM, no OpenAI):

    python examples/llama_index_example.py                       # the sample meetings, pi at 2048 tokens
    python examples/llama_index_example.py --max-length 4096 "who is allergic to cats?"

1. read the sample meetings as LlamaIndex Documents whose ids are UUIDs (Qdrant needs UUID or integer ids);
2. embed each whole meeting with LongEmbedEmbedding inside an IngestionPipeline that writes to a
   QdrantVectorStore (an embedded Qdrant in a temporary folder): the embedding is the only transformation,
   so no document is split into chunks;
3. retrieve with VectorStoreIndex.as_retriever, and with LongEmbedRetriever over a collection built by
   longembed's own ingest.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

from llama_index.core import Settings, VectorStoreIndex
from llama_index.core.ingestion import IngestionPipeline
from llama_index.vector_stores.qdrant import QdrantVectorStore
from qdrant_client import QdrantClient

from longembed.ingest import ingest
from longembed.integrations.llama_index import LongEmbedEmbedding, LongEmbedRetriever, documents_from_folder
from longembed.settings import IndexSettings
from longembed.store import Store

MEETINGS = Path(__file__).resolve().parent / "meetings" / "docs"
DEFAULT_QUERY = (  # QMSum query ES2010a_s1 (examples/meetings/queries.jsonl); the relevant meeting is ES2010a
    "When both Marketing and Industrial Designer had admitted to being allergic to cats, Project Manager attempted "
    "to propose a situation where they actually were around one."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("query", nargs="?", default=DEFAULT_QUERY)
    parser.add_argument("--docs", default=str(MEETINGS), help="folder of .txt .md .pdf .html documents")
    parser.add_argument("--max-length", type=int, default=2048, help="longest document in tokens")
    parser.add_argument("--extend", default="pi", help="none, pcw, gp, rp or pi")
    parser.add_argument("-k", type=int, default=3)
    args = parser.parse_args()

    warnings.filterwarnings("ignore", message="Payload indexes have no effect in the local Qdrant")
    Settings.llm = None  # retrieval only: LlamaIndex uses its MockLLM and never reaches for OpenAI
    settings = IndexSettings(extend=args.extend, max_length=args.max_length)
    embed = LongEmbedEmbedding(settings, embed_batch_size=8)
    documents = documents_from_folder(args.docs)
    print(f"{len(documents)} documents; {settings.describe()}")

    with tempfile.TemporaryDirectory() as work:
        # LlamaIndex's own pieces: IngestionPipeline -> QdrantVectorStore, then a VectorStoreIndex retriever
        client = QdrantClient(path=str(Path(work) / "qdrant"))
        vector_store = QdrantVectorStore(collection_name="meetings", client=client)
        IngestionPipeline(transformations=[embed], vector_store=vector_store).run(documents=documents)
        index = VectorStoreIndex.from_vector_store(vector_store, embed_model=embed)
        print(f"\nVectorStoreIndex retriever: {args.query!r}")
        for hit in index.as_retriever(similarity_top_k=args.k).retrieve(args.query):
            print(f"  {hit.score:.4f}  {hit.node.metadata['path']}")
        client.close()

        # a collection built by longembed's ingest, queried through LongEmbedRetriever (same encoder reused)
        with Store(path=Path(work) / "longembed") as store:
            ingest(args.docs, settings, store, "meetings", encoder=embed.encoder, progress=False)
        retriever = LongEmbedRetriever(store=Path(work) / "longembed", collection="meetings", similarity_top_k=args.k)
        print(f"\nLongEmbedRetriever: {args.query!r}")
        for hit in retriever.retrieve(args.query):
            meta = hit.node.metadata
            print(f"  {hit.score:.4f}  {meta['path']}  ({meta['n_tokens']} tokens, {len(hit.node.text)} characters)")
        retriever.close()


if __name__ == "__main__":
    main()
