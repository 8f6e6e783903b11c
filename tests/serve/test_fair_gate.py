"""The fair gate of a server's forward passes (issue 14 rows 8, 9): a search waits for at most the piece
running now, long requests alternate piece by piece, and a server encoder takes the gate per forward batch
only (tokenizing outside it). Ordering is checked with events, never with timing thresholds."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from longembed.serve.fair import CPU_PIECE_TOKENS, FairGate, Job, job, share_device
from longembed.settings import RunOptions


def _wait_until(predicate, timeout: float = 30.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        done.wait(0.01)
    raise AssertionError("condition not reached in time")


def test_a_search_runs_after_the_current_piece_of_a_long_request():
    gate, order = FairGate(), []
    first_piece_running, let_first_piece_end = threading.Event(), threading.Event()

    def long_request():
        with job():
            for i in range(4):
                with gate:
                    order.append(f"long{i}")
                    if i == 0:
                        first_piece_running.set()
                        let_first_piece_end.wait(30)

    def search():
        with job(), gate:
            order.append("search")

    runner = threading.Thread(target=long_request)
    runner.start()
    assert first_piece_running.wait(30)
    searcher = threading.Thread(target=search)
    searcher.start()
    _wait_until(lambda: gate.waiting == 1)  # the search is queued behind piece 0
    let_first_piece_end.set()
    runner.join(30), searcher.join(30)
    assert order == ["long0", "search", "long1", "long2", "long3"]
    assert gate.pieces_run == 5


def test_two_long_requests_alternate_and_a_late_short_one_goes_first():
    gate, order = FairGate(), []
    hold, release = threading.Event(), threading.Event()
    jobs = {name: Job() for name in ("a", "b", "short")}
    jobs["a"].pieces = 3  # a has already run three pieces, b one: b goes first, then they alternate
    jobs["b"].pieces = 1

    def blocker():
        with gate:
            hold.set()
            release.wait(30)

    def worker(name: str, pieces: int):
        from longembed.serve.fair import CURRENT_JOB

        CURRENT_JOB.set(jobs[name])
        for _ in range(pieces):
            with gate:
                order.append(name)

    holder = threading.Thread(target=blocker)
    holder.start()
    assert hold.wait(30)
    threads = [threading.Thread(target=worker, args=args) for args in (("a", 3), ("b", 3))]
    for t in threads:
        t.start()
    _wait_until(lambda: gate.waiting == 2)
    late = threading.Thread(target=worker, args=("short", 1))
    late.start()
    _wait_until(lambda: gate.waiting == 3)
    release.set()
    for t in [holder, *threads, late]:
        t.join(30)
    # short (0 pieces) first; b (1) runs until it has as many pieces as a (3), then they alternate
    assert order[0] == "short"
    assert order[1:] == ["b", "b", "a", "b", "a", "a"]


def test_the_gate_is_reentrant_in_its_own_thread():
    gate = FairGate()
    with gate, gate:
        assert gate.pieces_run == 1
    with gate:
        assert gate.pieces_run == 2


class _Encoder:
    def __init__(self, device_type: str, batch_tokens: int):
        self.device = type("Device", (), {"type": device_type})()
        self.batch_tokens = batch_tokens


@pytest.mark.parametrize(
    ("device", "given", "expected"), [("cpu", False, CPU_PIECE_TOKENS), ("cpu", True, 16384), ("cuda", False, 16384)]
)
def test_share_device_bounds_cpu_pieces_unless_the_batch_size_was_given(device, given, expected):
    gate = FairGate()
    encoder = share_device(_Encoder(device, 16384), gate, batch_tokens_given=given)
    assert encoder.forward_gate is gate and encoder.batch_tokens == expected


def test_a_real_encoder_takes_the_gate_per_forward_batch_and_tokenizes_outside_it():
    """all-MiniLM-L6-v2, none at 128 tokens, 128 tokens per forward batch: five documents are five pieces; while
    another thread holds the gate, tokenizing still works and a query waits only for the gate."""
    from longembed.encoding import Encoder
    from longembed.settings import IndexSettings

    encoder = Encoder(IndexSettings(extend="none", max_length=128), RunOptions(device="cpu", batch_tokens=128))
    gate = FairGate()
    share_device(encoder, gate, batch_tokens_given=True)
    text = "the harbour committee approved a new pier for the fishing fleet " * 20
    encoder.encode([text] * 5)
    assert gate.pieces_run == 5
    with gate:  # held elsewhere: preparing (tokenizing) needs no gate
        assert len(encoder.prepare([text] * 3).token_ids) == 3
        done = []
        query = threading.Thread(target=lambda: done.append(encoder.encode(["pier"], kind="query")))
        query.start()
        _wait_until(lambda: gate.waiting == 1)
        assert not done
    query.join(30)
    assert len(done) == 1 and gate.pieces_run == 7


def test_each_request_is_its_own_job_in_the_endpoint_thread():
    """RequestJobs sets the job in the event loop; FastAPI runs a sync endpoint in a worker thread with a copy
    of the context, so the gate there counts the request's pieces (a fresh job per request)."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from longembed.serve.fair import CURRENT_JOB, RequestJobs

    app = FastAPI()
    app.add_middleware(RequestJobs)
    gate = FairGate()

    @app.get("/pieces")
    def pieces() -> dict:
        for _ in range(3):
            with gate:
                pass
        current = CURRENT_JOB.get()
        return {"pieces": current.pieces if current else None, "thread": threading.get_ident()}

    with TestClient(app) as client:
        first, second = client.get("/pieces").json(), client.get("/pieces").json()
    assert first["pieces"] == second["pieces"] == 3 and first["thread"] != threading.get_ident()


def test_a_query_runs_between_the_layers_of_a_long_forward_and_both_vectors_are_exact():
    """all-MiniLM-L6-v2 with pi at 1024 tokens: while one 1024-token document is inside layer 2, a query queues;
    the document's forward hands the gate over before layer 3, the query finishes first, and both vectors equal
    the ones computed alone."""
    from longembed.encoding import Encoder
    from longembed.settings import IndexSettings

    encoder = Encoder(IndexSettings(extend="pi", max_length=1024), RunOptions(device="cpu"))
    text = "the harbour committee approved a new pier for the fishing fleet " * 150
    alone_doc, alone_query = encoder.encode([text])[0].vector, encoder.encode(["pier"], kind="query")[0].vector
    gate = FairGate()
    share_device(encoder, gate, batch_tokens_given=True)
    layers = encoder.model.encoder.layer
    in_layer_two, order, results = threading.Event(), [], {}
    doc_thread: list[int] = []

    def hold_in_layer_two(_module, _args):
        if threading.get_ident() in doc_thread and not in_layer_two.is_set():
            in_layer_two.set()
            _wait_until(lambda: gate.waiting == 1)  # the query has queued

    layers[2].register_forward_pre_hook(hold_in_layer_two)

    def document():
        doc_thread.append(threading.get_ident())
        with job() as current:
            current.pieces = 1  # a long request that has already run a piece
            results["doc"] = encoder.encode([text])[0].vector
        order.append("doc")

    def query():
        with job():
            results["query"] = encoder.encode(["pier"], kind="query")[0].vector
        order.append("query")

    doc = threading.Thread(target=document)
    doc.start()
    assert in_layer_two.wait(60)
    asker = threading.Thread(target=query)
    asker.start()
    doc.join(120), asker.join(120)
    assert order == ["query", "doc"]
    assert gate.pieces_run == 3  # the document's two halves and the query
    np.testing.assert_allclose(results["doc"], alone_doc, atol=1e-6)
    np.testing.assert_allclose(results["query"], alone_query, atol=1e-6)
