"""The embedded Qdrant Edge store answers every query mode, fusion and unit exactly as qdrant-client's local mode
(the embedded store before it) on the same data: one ingest of the same folder into each backend, then the same
queries, compared rank by rank with their scores (within 1e-4: float noise between engines). Real text (excerpts of eight sample meetings), the bundled
all-MiniLM-L6-v2, the default passages and bm25.

Also: no module outside ``longembed/store/`` imports a Qdrant client."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import REPO, SAMPLE_DOCS

from longembed.encoding import Encoder
from longembed.ingest import ingest
from longembed.retrieve import Retriever
from longembed.settings import IndexSettings, RunOptions
from longembed.store import EdgeStore
from longembed.store.qdrant import QdrantClientStore
from meetings_subset import SUBSET

SETTINGS = IndexSettings(extend="none", max_length=256)
QUERIES = [
    "Which animals is the project manager allergic to?",
    "what did the team decide about the remote control budget",
    "twelve euro fifty",
    "kinetic energy battery",
]
ASKED = [
    ("dense", None, "document"), ("sparse", None, "document"), ("hybrid", "rrf", "document"),
    ("hybrid", "dbsf", "document"), ("hybrid", "convex", "document"), ("hybrid", "convex", "passage"),
    ("dense", None, "passage"),
]


def excerpt(path: Path) -> str:
    """The first ~3,000 characters of a meeting's utterances of 60 characters or more (the short ones, "Okay ." or
    "Mm-hmm .", recur across meetings: identical passages tie exactly, and engines may order exact ties either
    way)."""
    lines = [line for line in path.read_text().splitlines() if len(line) >= 60]
    return "\n".join(lines)[:3000]


@pytest.fixture(scope="module")
def answers(tmp_path_factory) -> dict[str, list]:
    work = tmp_path_factory.mktemp("parity")
    docs = work / "docs"
    docs.mkdir()
    for name in SUBSET:
        (docs / name).write_text(excerpt(SAMPLE_DOCS / name))
    encoder = Encoder(SETTINGS, RunOptions(device="cpu"))
    out = {}
    for label, backend in (("local-mode", QdrantClientStore), ("edge", EdgeStore)):
        with backend(path=work / label) as store:
            ingest(docs, SETTINGS, store, "c", encoder=encoder, progress=False)
            retriever = Retriever(store=store, collection="c", encoder=encoder)
            out[label] = [  # every document (8), so that a tie at the cut cannot change which are listed
                retriever.search(q, k=8 if unit == "document" else 5, mode=mode, fusion=fusion, unit=unit)
                for q in QUERIES for mode, fusion, unit in ASKED
            ] + [retriever.search(q, k=8, using="chunks") for q in QUERIES]
    return out


def test_every_mode_fusion_and_unit_ranks_and_scores_as_local_mode(answers):
    old, new = answers["local-mode"], answers["edge"]
    assert len(old) == len(new) == len(QUERIES) * (len(ASKED) + 1)
    for before, after in zip(old, new):
        assert len(after) == len(before) >= 1
        assert [key for key, _ in ranking(after)] == [key for key, _ in ranking(before)]
        assert [x for _, scores in ranking(after) for x in scores] == pytest.approx(
            [x for _, scores in ranking(before) for x in scores], abs=1e-4
        )


def ranking(results: list[dict]) -> list[tuple]:
    """(where, (score, passage score)) of the results in rank order, results whose scores are within 1e-4 of each
    other put in path order: exact ties (rrf gives many: 1/2 + 1/3 from ranks 1, 2 or 2, 1) may be ordered either
    way by an engine, and engines' float arithmetic moves scores by ~1e-6."""
    groups: list[list[dict]] = []
    for r in results:
        if groups and abs(groups[-1][0]["score"] - r["score"]) < 1e-4:
            groups[-1].append(r)
        else:
            groups.append([r])
    return [(where(r), (r["score"], passage_score(r))) for g in groups for r in sorted(g, key=where)]


def where(result: dict) -> tuple:
    """A result's document and passage: (path, start_char, end_char) of a passage result or of a document's best
    passage."""
    span = result.get("passage") or result
    return result["path"], span.get("start_char"), span.get("end_char")


def passage_score(result: dict) -> float:
    return (result.get("passage") or {}).get("score", 0.0)


def qdrant_imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return [n for n in names if n.split(".")[0] in ("qdrant_client", "qdrant_edge")]


def test_only_the_store_package_imports_a_qdrant_client():
    package = REPO / "longembed"
    found = {
        str(path.relative_to(package)): qdrant_imports(path)
        for path in package.rglob("*.py")
        if path.relative_to(package).parts[0] != "store"
    }
    assert {path: names for path, names in found.items() if names} == {}
    assert qdrant_imports(package / "store" / "edge.py") == ["qdrant_edge"]  # the check sees real imports
