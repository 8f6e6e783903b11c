"""The server's state: the store, one encoder per distinct collection settings, retrievers, ingests, and the locks that
share them between requests (the Qdrant client behind one lock, forward passes through the fair gate of
:mod:`longembed.serve.fair`)."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path, PurePosixPath

from longembed.encoding import Encoder
from longembed.errors import (
    collection_name_problem,
    shown_name,
    IngestError,
    LongEmbedError,
)
from longembed.ingest import SUPPORTED_EXTENSIONS, IngestSummary, ingest
from longembed.ingest.identity import upload_clashes
from longembed.ingest.limits import ReadLimits
from longembed.retrieve.retriever import Retriever
from longembed.serve.fair import FairGate, share_device
from longembed.serve.requests import (
    UploadArea,
    check_no_file_folder_clash,
    check_upload_name,
    printable,
)
from longembed.serve.schemas import CollectionInfo, IngestFailure, IngestResponse
from longembed.settings import IndexSettings, RunOptions
from longembed.store import DEFAULT_COLLECTION, VectorStore, point_id

log = logging.getLogger(__name__)


class Service:
    """What all requests of one server share: the store, loaded encoders and the locks.

    Args:
        store: the open store; from now on its calls are serialised (:meth:`VectorStore.serialize_calls`).
        collection: the default collection of requests that name none.
        run: device, weight dtype and padded tokens per forward pass of every model it loads
            (:class:`~longembed.settings.RunOptions`).
        new_collection_settings: settings of collections created by ``/ingest``.
    """

    def __init__(
        self,
        store: VectorStore,
        collection: str = DEFAULT_COLLECTION,
        run: RunOptions | None = None,
        new_collection_settings: IndexSettings | None = None,
        uploads: UploadArea | None = None,
        read_limits: ReadLimits | None = None,
    ) -> None:
        self.store = store
        self.uploads = uploads or UploadArea()
        self.store.serialize_calls(threading.RLock())
        self.default_collection = collection
        self.run = run or RunOptions()
        self.new_collection_settings = new_collection_settings or IndexSettings()
        self.gate = FairGate()  # one forward batch at a time, fewest pieces first (see longembed.serve.fair)
        self.read_limits = read_limits or ReadLimits()
        self._load_lock = threading.Lock()
        self._ingest_lock = threading.Lock()
        self._encoders: dict[str, Encoder] = {}

    def collection(self, name: str | None) -> str:
        """``name``, or the default collection when none is given.

        Raises:
            InvalidCollectionName: ``name`` cannot name a collection (shown truncated to 80 characters).
        """
        if name and (problem := collection_name_problem(name)):
            raise InvalidCollectionName(f"collection name {shown_name(printable(name))!r} {problem}")
        return name or self.default_collection

    def encoder(self, settings: IndexSettings) -> Encoder:
        """The encoder for ``settings``, loaded on first use and kept; it takes :attr:`gate` per forward batch."""
        key = json.dumps(settings.to_dict(), sort_keys=True)
        with self._load_lock:
            if key not in self._encoders:
                log.info("loading %s", settings.describe())
                self._encoders[key] = share_device(
                    Encoder(settings, self.run), self.gate, batch_tokens_given=self.run.batch_tokens is not None,
                )
            return self._encoders[key]

    def models_loaded(self) -> list[str]:
        with self._load_lock:
            return [e.settings.describe() for e in self._encoders.values()]

    def retriever(self, collection: str | None) -> Retriever:
        """A retriever on the shared store and encoder (cheap: nothing is loaded twice).

        Raises:
            CollectionNotFound: no such collection.
        """
        name = self.collection(collection)
        return Retriever(store=self.store, collection=name, encoder=self.encoder(self.store.settings(name)))

    def collections(self) -> list[CollectionInfo]:
        """Every collection made by longembed, with its recorded settings (others are left out)."""
        # "extension" repeats "extend" for clients of earlier versions; the settings keys not shown are ignored
        return [CollectionInfo(extension=info["extend"], **info) for info in self.store.collection_infos()]

    def ingest(
        self, root: str | Path, collection: str | None, upload_names: list[str] | None = None
    ) -> IngestResponse:
        """Ingest ``root`` into ``collection`` (created with :attr:`new_collection_settings` when missing).

        One ingest runs at a time; searches go on between its batches. ``upload_names``: ``root`` holds uploads of
        these names, ingested by name after a check against the points of files
        (:func:`~longembed.ingest.identity.upload_clashes`).

        Raises:
            LongEmbedError: another ingest is running (``busy``), or from :func:`longembed.ingest.ingest`.
            UploadClash: an upload's name is held by a file ingested from disk that still exists.
        """
        name = self.collection(collection)
        if not self._ingest_lock.acquire(blocking=False):
            raise IngestBusy("another ingest is running on this server; retry when it has finished")
        try:
            exists = self.store.exists(name)
            if upload_names and exists:
                self._refuse_clashes(name, upload_names)
            settings = self.store.settings(name) if exists else self.new_collection_settings
            summary: IngestSummary = ingest(
                root, settings, self.store, name, encoder=self.encoder(settings), progress=False,
                by_name=upload_names is not None, limits=self.read_limits,
            )
        finally:
            self._ingest_lock.release()
        return IngestResponse(
            collection=name,
            documents=summary.documents,
            new=len(summary.new),
            updated=len(summary.updated),
            unchanged=len(summary.unchanged),
            tokens=summary.tokens,
            truncated=summary.truncated,
            failed=[IngestFailure(path=f.path, reason=f.reason) for f in summary.failed],
            seconds=summary.seconds,
        )

    def _refuse_clashes(self, collection: str, names: list[str]) -> None:
        held = self.store.retrieve(collection, [point_id(n) for n in names], payload=["path", "source"])
        clashes = upload_clashes(names, {str(r.payload.get("path")): str(r.payload.get("source", "")) for r in held})
        if clashes:
            raise UploadClash(
                f"{len(clashes)} name(s) already hold a document ingested from a file: {', '.join(clashes[:3])}; "
                "upload under another name (a file's point is never replaced by an upload)"
            )

    def ingest_uploads(self, documents: list[tuple[str, bytes]], collection: str | None) -> IngestResponse:
        """Write uploaded ``(name, content)`` documents to a temporary folder and ingest it.

        Raises:
            IngestError: a name is not a safe relative path with a supported extension, or is repeated.
        """
        collection = self.collection(collection)  # an impossible name is refused before anything is written
        names = [safe_relative_name(name) for name, _ in documents]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise IngestError(f"document names must be unique; repeated: {', '.join(repeated)}")
        check_no_file_folder_clash(names)
        with self.uploads.request_folder() as folder:
            for name, (_, content) in zip(names, documents):
                target = Path(folder, name)
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(content)
                except OSError as exc:
                    raise IngestError(f"cannot store the upload {printable(name)[:80]!r}: {exc.strerror}") from None
            return self.ingest(folder, collection, upload_names=names)


class InvalidCollectionName(LongEmbedError):
    """A request names a collection that cannot exist (a 400, not the store's 409)."""


class IngestBusy(LongEmbedError):
    """An ingest is already running on this server."""


class UploadClash(LongEmbedError):
    """An upload names a document that a file ingested from disk holds (a 409)."""


def safe_relative_name(name: str) -> str:
    """``name`` as a normalised relative POSIX path with a supported extension.

    Raises:
        IngestError: absolute, empty, containing ``..`` or hidden parts, an unsupported extension, or a name the
            file system cannot take (see :func:`~longembed.serve.requests.check_upload_name`).
    """
    check_upload_name(name)
    path = PurePosixPath(name.replace("\\", "/"))
    parts = [p for p in path.parts if p not in ("", ".")]
    if path.is_absolute() or not parts or any(p == ".." or p.startswith(".") for p in parts):
        raise IngestError(f"document name {name!r} must be a relative path without '..' or hidden parts")
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise IngestError(
            f"document name {name!r} needs one of the extensions {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    return "/".join(parts)


# -- the app -----------------------------------------------------------------------------------------------
