"""Embedded documents → the points a store writes: the ``doc`` vector, the ``chunks`` multivector (passage or
window vectors), the ``bm25`` sparse vector and the one payload (:class:`~longembed.store.DocumentPayload`)."""

from __future__ import annotations

import logging

from longembed.encoding.spans import Passage
from longembed.errors import LongEmbedError
from longembed.ingest.reader import ReadFailure, SourceDocument, shown_path
from longembed.store import MAX_STORED_TEXT_CHARS, DocumentPayload, StoredDocument

log = logging.getLogger(__name__)


def encode_each_on_error(encoder, prepared, batch: list[SourceDocument], failed: list[ReadFailure],
                         keep_segments: bool, prepare_one):
    """Encode a prepared batch; if that fails, encode its documents one by one (``prepare_one(doc)`` prepares one
    as the batch was) and append the ones that fail alone to ``failed`` (their entry is ``None``).

    Raises:
        LongEmbedError, KeyboardInterrupt: as raised (a setup problem, not one document's).
    """
    extra = {"keep_segments": True} if keep_segments else {}  # plain encoders need not know the option
    try:
        return encoder.encode_prepared(prepared, **extra)
    except (LongEmbedError, KeyboardInterrupt):
        raise
    except Exception:
        if len(batch) == 1:
            raise
    out = []
    for doc in batch:
        try:
            out.append(encoder.encode_prepared(prepare_one(doc), **extra)[0])
        except (LongEmbedError, KeyboardInterrupt):
            raise
        except Exception as exc:
            reason = f"could not embed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            log.warning("could not embed %s: %s", shown_path(doc.path), reason)
            failed.append(ReadFailure(doc.path, reason))
            out.append(None)
    return out


def passage_fields(emb, passages: list[Passage], n_chars: int) -> tuple[list[list[float]], list[list[int]]]:
    """The ``chunks`` multivector (one vector per passage, shape (n_passages, d)) and the ``passages`` payload
    ([start, end) characters of each) of one document; a document without tokens gets its ``doc`` vector as its
    one passage."""
    if not passages or emb.passage_vectors is None or len(emb.passage_vectors) == 0:
        return [emb.vector.tolist()], [[0, min(n_chars, MAX_STORED_TEXT_CHARS)]]
    return emb.passage_vectors.tolist(), [[p.start, p.end] for p in passages]


def document_point(
    doc: SourceDocument, emb, fingerprint: str, multivector=None, sparse=None, **extra
) -> StoredDocument:
    """The point of one embedded document: ``emb.vector`` (shape (d,)) as ``doc``, ``multivector`` (shape (n, d)) as
    ``chunks``, ``sparse`` (BM25 term weights) and the payload, its text cut to :data:`MAX_STORED_TEXT_CHARS`
    characters; ``extra`` holds the optional payload fields (``passages``, ``bm25_length``)."""
    payload = DocumentPayload(
        path=doc.path,
        title=doc.title,
        sha256=doc.sha256,
        n_tokens=emb.n_tokens,
        truncated=emb.truncated,
        text=doc.text[:MAX_STORED_TEXT_CHARS],
        text_chars=len(doc.text),
        source=doc.source,
        encoding=doc.encoding,
        settings_fingerprint=fingerprint,
        file_size=doc.file_size,
        file_mtime_ns=doc.file_mtime_ns,
        **extra,
    )
    return StoredDocument(path=doc.path, vector=emb.vector.tolist(), payload=payload, multivector=multivector,
                          sparse=sparse)
