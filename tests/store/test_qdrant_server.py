"""A real Qdrant server: the store's operations, a cluster layout, an ingest + hybrid query and a Ray ingest whose
workers write to the server, each compared with the embedded store.

The server is the one at ``$QDRANT_URL``, or one this module starts from the ``qdrant`` executable on PATH (its
storage in a temporary folder, free ports). Without either every test here is skipped with that reason: no Qdrant
server binary reaches these machines from the package registries, and a mock would test nothing. The layout's
parameters and the command line's refusal without ``--qdrant-url`` are checked without a server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid

import pytest

from clitools import REPO, run_cli
from pointtools import assert_same_points, points_of
from longembed.errors import StoreError
from longembed.ingest import ingest
from longembed.retrieve import Retriever
from longembed.settings import IndexSettings
from longembed.store import ClusterLayout, open_store

NO_SERVER = ("no Qdrant server: set QDRANT_URL or put the qdrant executable on PATH (no server binary reaches "
             "these machines from the package registries)")
SAMPLE = REPO / "examples" / "meetings" / "docs"
MEETINGS = sorted(SAMPLE.glob("*.txt"))[:4]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def qdrant_url(tmp_path_factory):
    if os.environ.get("QDRANT_URL"):
        yield os.environ["QDRANT_URL"].rstrip("/")
        return
    exe = shutil.which("qdrant")
    if exe is None:
        pytest.skip(NO_SERVER)
    work = tmp_path_factory.mktemp("qdrant")
    http = _free_port()
    env = {**os.environ, "QDRANT__SERVICE__HTTP_PORT": str(http), "QDRANT__SERVICE__GRPC_PORT": str(_free_port()),
           "QDRANT__STORAGE__STORAGE_PATH": str(work / "storage"),
           "QDRANT__STORAGE__SNAPSHOTS_PATH": str(work / "snapshots"), "QDRANT__TELEMETRY_DISABLED": "true"}
    proc = subprocess.Popen([exe], cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{http}"
    deadline = time.monotonic() + 60
    while not _ready(url):
        assert proc.poll() is None and time.monotonic() < deadline, "the qdrant server did not start"
        time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def collection(qdrant_url):
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    with open_store(url=qdrant_url) as server:
        server.delete_collection(name)


def test_a_layout_sets_qdrants_collection_parameters():
    assert ClusterLayout().collection_params() == {} and ClusterLayout().is_default
    assert ClusterLayout(shards=3, replication_factor=2, on_disk=True).collection_params() == {
        "shard_number": 3, "replication_factor": 2, "on_disk_payload": True,
    }
    assert ClusterLayout(shards=3, on_disk=True).describe() == "3 shards, on disk"
    with pytest.raises(StoreError, match="shards must be a whole number of at least 1, got 0"):
        ClusterLayout(shards=0)


def test_a_layout_without_a_server_is_one_line(tmp_path):
    (tmp_path / "a.txt").write_text("A short note about the harbour budget.")
    done = run_cli("ingest", "a.txt", "--store", "store", "--shards", "2", cwd=tmp_path)
    assert done.returncode == 1 and not (tmp_path / "store").exists()
    assert done.stderr.strip().splitlines()[-1] == (
        "error: --shards, --replication-factor and --on-disk lay out a new collection on a Qdrant server: give "
        "--qdrant-url (the embedded store keeps one shard in this process)"
    )


def test_a_new_collection_on_the_server_gets_the_layout(qdrant_url, collection):
    with open_store(url=qdrant_url, layout=ClusterLayout(shards=2, on_disk=True)) as server:
        server.ensure_collection(collection, IndexSettings(), 384, with_multivector=True)
        params = server.client.get_collection(collection).config.params
    assert params.shard_number == 2 and params.on_disk_payload is True
    assert params.vectors["doc"].on_disk is True and params.vectors["chunks"].on_disk is True


def ranking(store, collection: str, query: str) -> list[str]:
    return [hit["path"] for hit in Retriever(store, collection).search(query, k=4)]


@pytest.fixture
def docs(tmp_path):
    """Four sample meetings in a folder."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for path in MEETINGS:
        shutil.copy(path, folder / path.name)
    return folder


SETTINGS = IndexSettings(max_length=1024)


def test_ingest_and_hybrid_query_on_the_server_match_the_embedded_store(qdrant_url, collection, docs, tmp_path):
    settings = SETTINGS
    with open_store(tmp_path / "embedded") as local:
        ingest(docs, settings, local, "c", progress=False)
        want = ranking(local, "c", "remote control design with rubber buttons")
    with open_store(url=qdrant_url) as server:
        summary = ingest(docs, settings, server, collection, progress=False)
        assert summary.documents == len(MEETINGS)
        assert ranking(server, collection, "remote control design with rubber buttons") == want
        again = ingest(docs, settings, server, collection, progress=False)
    assert len(again.unchanged) == len(MEETINGS) and again.documents == 0


def test_a_ray_ingest_writes_from_its_workers_to_the_server(qdrant_url, collection, docs, tmp_path):
    pytest.importorskip("ray")
    from longembed.ingest import RayOptions

    settings = SETTINGS
    with open_store(tmp_path / "embedded") as local:
        ingest(docs, settings, local, "c", progress=False)
        want = points_of(local, "c")
    with open_store(url=qdrant_url) as server:
        ingest(docs, settings, server, collection, progress=False, ray=RayOptions(num_cpus=2))
        assert_same_points(points_of(server, collection), want)


def test_a_layout_for_an_existing_server_collection_is_a_note(qdrant_url, collection, tmp_path):
    (tmp_path / "a.txt").write_text("A short note about the harbour budget.")
    common = ["ingest", "a.txt", "--qdrant-url", qdrant_url, "--collection", collection, "--extend", "none",
              "--max-length", "128", "--no-progress"]
    assert run_cli(*common, cwd=tmp_path).returncode == 0
    again = run_cli(*common, "--shards", "4", cwd=tmp_path)
    assert again.returncode == 0
    assert f"note: collection '{collection}' exists and keeps its layout (4 shards apply to a new collection)" in again.stderr
