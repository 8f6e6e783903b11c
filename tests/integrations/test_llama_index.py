"""longembed inside real LlamaIndex objects, end to end on the sample meetings (no mocks, no OpenAI).

The embedding model is the bundled all-MiniLM-L6-v2 extended with pi to 1024 tokens; LlamaIndex's LLM is
set to its MockLLM explicitly, so nothing reaches for OpenAI.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid

import numpy as np
import pytest
from llama_index.core import Settings, VectorStoreIndex
from llama_index.core.callbacks import CallbackManager, CBEventType, LlamaDebugHandler
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.vector_stores.qdrant import QdrantVectorStore
from qdrant_client import QdrantClient

from clitools import cli_env
from conftest import SAMPLE_DOCS
from longembed.encoding import Encoder
from longembed.models.paths import with_model_defaults
from longembed.errors import IngestError
from longembed.ingest import ingest
from longembed.integrations.llama_index import LongEmbedEmbedding, LongEmbedRetriever, documents_from_folder
from longembed.retrieve import Retriever
from longembed.settings import IndexSettings
from longembed.store import Store, point_id
from longembed.settings import RunOptions
from meetings_subset import KNOWN_FIRST, MAX_LENGTH, SUBSET, copy_subset, query_text

SETTINGS = IndexSettings(max_length=MAX_LENGTH)


@pytest.fixture(scope="module", autouse=True)
def no_openai():
    previous = Settings._llm
    Settings.llm = MockLLM(max_tokens=16)
    yield
    Settings._llm = previous


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder(SETTINGS, RunOptions(device="cpu"))


@pytest.fixture(scope="module")
def documents():
    return documents_from_folder(SAMPLE_DOCS)


@pytest.fixture(scope="module")
def subset_documents(documents):
    return [d for d in documents if d.metadata["path"] in SUBSET]


def test_documents_have_uuid_ids_and_embed_only_their_text(documents):
    assert len(documents) == 20
    doc = next(d for d in documents if d.metadata["path"] == "ES2010a.txt")
    assert doc.id_ == point_id("ES2010a.txt") and uuid.UUID(doc.id_).version == 5
    assert doc.metadata["title"] == "ES2010a" and len(doc.metadata["sha256"]) == 64
    text = (SAMPLE_DOCS / "ES2010a.txt").read_text()
    assert doc.get_content(metadata_mode="embed") == text  # no metadata in the embedded text


def test_documents_from_an_empty_folder_is_an_error(tmp_path):
    (tmp_path / "a.txt").write_text("  ")
    with pytest.raises(IngestError, match="no document could be read"):
        documents_from_folder(tmp_path)


USER_SCRIPT = """
from qdrant_client import QdrantClient
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.schema import Document
from llama_index.vector_stores.qdrant import QdrantVectorStore
from longembed.integrations.llama_index import LongEmbedEmbedding
from longembed.settings import IndexSettings

embed = LongEmbedEmbedding(IndexSettings(extend="none", max_length=128))
store = QdrantVectorStore(collection_name="c", client=QdrantClient(path="qdrant"))
docs = [Document(text="Owls hunt at night in the old barn.", id_="%s")]
print(len(IngestionPipeline(transformations=[embed], vector_store=store).run(documents=docs)))
"""


def test_a_users_pipeline_into_local_qdrant_prints_no_payload_index_warning(tmp_path):
    """qdrant-client's local mode warns that LlamaIndex's payload indexes have no effect, on every run; the adapter
    silences it. A user's process, not pytest's (pytest resets the warning filters set while it collects)."""
    done = subprocess.run([sys.executable, "-c", USER_SCRIPT % uuid.uuid4()], cwd=tmp_path, env=cli_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "1", done.stderr
    assert "Payload indexes" not in done.stderr and "Warning" not in done.stderr, done.stderr


@pytest.mark.filterwarnings("ignore:Payload indexes have no effect in the local Qdrant")  # see the next test
def test_ingestion_pipeline_into_qdrant_ranks_the_relevant_meeting_first(tmp_path, encoder, documents):
    """IngestionPipeline(transformations=[LongEmbedEmbedding], vector_store=QdrantVectorStore) on all 20 meetings:
    one point per whole document, id = the document's UUID, vector = the encoder's document vector."""
    debug = LlamaDebugHandler()
    embed = LongEmbedEmbedding(encoder=encoder, embed_batch_size=8, callback_manager=CallbackManager([debug]))
    assert "_encoder" not in embed.model_dump() and embed.model_dump()["max_length"] == MAX_LENGTH
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    try:
        store = QdrantVectorStore(collection_name="meetings", client=client)
        forward_batches: list[int] = []
        hook = encoder.model.register_forward_hook(
            lambda _m, _a, kwargs, _o: forward_batches.append(kwargs["input_ids"].shape[0]), with_kwargs=True
        )
        try:
            nodes = IngestionPipeline(transformations=[embed], vector_store=store).run(documents=documents)
        finally:
            hook.remove()
        assert len(nodes) == 20
        # embed_batch_size is honoured: 20 texts in batches of 8, 8, 4 ...
        batches = [len(end.payload["chunks"]) for _, end in debug.get_event_pairs(CBEventType.EMBEDDING)]
        assert batches == [8, 8, 4]
        # ... and each batch is one forward pass of the model (8 x 1024 tokens fit the encoder's token budget)
        assert forward_batches == [8, 8, 4]
        points, _ = client.scroll("meetings", limit=100, with_vectors=True)
        assert sorted(str(p.id) for p in points) == sorted(point_id(d.metadata["path"]) for d in documents)
        expected = encoder.encode([d.text for d in documents[:3]])
        stored = {str(p.id): np.array(p.vector) for p in points}
        for doc, emb in zip(documents[:3], expected):
            np.testing.assert_allclose(stored[doc.id_], emb.vector, atol=1e-5)

        index = VectorStoreIndex.from_vector_store(store, embed_model=embed)
        retriever = index.as_retriever(similarity_top_k=3)
        for qid, path in KNOWN_FIRST.items():
            hits = retriever.retrieve(query_text(qid))
            assert hits[0].node.metadata["path"] == path, qid
            assert hits[0].node.node_id == point_id(path)
            assert hits[0].score > hits[1].score
    finally:
        client.close()


def test_vector_store_index_from_documents_and_query_engine(encoder, subset_documents):
    """VectorStoreIndex.from_documents with the embedding as the only transformation: whole-document nodes;
    the query engine runs with the MockLLM and cites the relevant meeting first; async retrieval agrees."""
    embed = LongEmbedEmbedding(encoder=encoder)
    index = VectorStoreIndex.from_documents(subset_documents, embed_model=embed, transformations=[embed])
    assert len(index.docstore.docs) == len(SUBSET)  # not split
    engine = index.as_query_engine(llm=MockLLM(max_tokens=16), similarity_top_k=2)
    for qid, path in KNOWN_FIRST.items():
        response = engine.query(query_text(qid))
        assert response.source_nodes[0].node.metadata["path"] == path, qid
    retriever = index.as_retriever(similarity_top_k=2)
    sync = retriever.retrieve(query_text("ES2010a_s1"))
    asynchronous = asyncio.run(retriever.aretrieve(query_text("ES2010a_s1")))
    assert [n.node.node_id for n in asynchronous] == [n.node.node_id for n in sync]
    assert asynchronous[0].score == pytest.approx(sync[0].score, abs=1e-6)


def test_batched_and_async_embeddings_equal_one_at_a_time(encoder, subset_documents):
    embed = LongEmbedEmbedding(encoder=encoder, embed_batch_size=3)
    # four lengths (~130 to ~900 tokens), so that a batch pads its shorter texts
    texts = [d.text[:n] for d, n in zip(subset_documents, (4000, 2500, 1500, 600))]
    batched = np.array(embed.get_text_embedding_batch(texts))
    single = np.array([embed.get_text_embedding(t) for t in texts])
    reference = np.array([e.vector for e in encoder.encode(texts, kind="document")])
    assert batched.shape == (4, 384)
    np.testing.assert_allclose(batched, reference, atol=1e-5)
    np.testing.assert_allclose(single, reference, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    asynchronous = np.array(asyncio.run(embed.aget_text_embedding_batch(texts)))
    np.testing.assert_allclose(asynchronous, reference, atol=1e-5)
    query = query_text("ES2010a_s1")
    np.testing.assert_allclose(
        asyncio.run(embed.aget_query_embedding(query)), embed.get_query_embedding(query), atol=1e-6
    )
    np.testing.assert_allclose(asyncio.run(embed.aget_text_embedding(texts[0])), reference[0], atol=1e-5)


def test_query_and_document_prefixes(encoder):
    """With E5-style prefixes, a query is embedded as 'query: ' + text and a document as 'passage: ' + text."""
    plain = LongEmbedEmbedding(encoder=encoder)
    prefixed = LongEmbedEmbedding(
        IndexSettings(max_length=MAX_LENGTH, query_prefix="query: ", document_prefix="passage: "), device="cpu"
    )
    assert prefixed.settings.query_prefix == "query: " and prefixed.query_prefix == "query: "
    text = "Who is allergic to cats?"
    q, d = np.array(prefixed.get_query_embedding(text)), np.array(prefixed.get_text_embedding(text))
    np.testing.assert_allclose(q, plain.get_text_embedding("query: " + text), atol=1e-6)
    np.testing.assert_allclose(d, plain.get_text_embedding("passage: " + text), atol=1e-6)
    assert float(q @ d) < 0.999  # the prefixes make the two different
    np.testing.assert_allclose(plain.get_query_embedding(text), plain.get_text_embedding(text), atol=1e-6)


def test_longembed_retriever_over_an_ingested_collection(tmp_path, encoder):
    """LongEmbedRetriever over a collection built by longembed's ingest: whole text, metadata, same scores as
    Retriever.search; it plugs into LlamaIndex's RetrieverQueryEngine (with the MockLLM)."""
    folder = copy_subset(tmp_path / "docs")
    with Store(path=tmp_path / "store") as store:
        ingest(folder, SETTINGS, store, "meetings", encoder=encoder, progress=False)
        reference = Retriever(store=store, collection="meetings", encoder=encoder).search(
            query_text("ES2010a_s1"), k=3
        )
    retriever = LongEmbedRetriever(store=tmp_path / "store", collection="meetings", device="cpu", similarity_top_k=3)
    try:
        hits = retriever.retrieve(query_text("ES2010a_s1"))
        assert [h.node.metadata["path"] for h in hits] == [r["path"] for r in reference]
        assert [h.score for h in hits] == pytest.approx([r["score"] for r in reference], abs=1e-6)
        top = hits[0].node
        assert top.metadata["path"] == "ES2010a.txt" and top.metadata["title"] == "ES2010a"
        assert top.text == (folder / "ES2010a.txt").read_text()
        assert top.metadata["n_tokens"] == 2793 and top.metadata["truncated"] is True
        assert top.node_id == point_id("ES2010a.txt")
        asynchronous = asyncio.run(retriever.aretrieve(query_text("IS1004a_s1")))
        assert asynchronous[0].node.metadata["path"] == "IS1004a.txt"
        engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM(max_tokens=16))
        for qid, path in KNOWN_FIRST.items():
            assert engine.query(query_text(qid)).source_nodes[0].node.metadata["path"] == path, qid
    finally:
        retriever.close()
    embed = LongEmbedEmbedding.from_collection(tmp_path / "store", "meetings", device="cpu")
    assert embed.settings == with_model_defaults(SETTINGS)  # the collection records the resolved prefixes
