"""Every bad input of the reliability issue, through the real ``longembed`` CLI in subprocesses, on real files.

Each case checks the exit code, the one-line message (no traceback without ``--debug``) and that nothing
already stored was lost. Models: the bundled all-MiniLM-L6-v2 (real weights) and, for the model errors, tiny
*random-weight* BERT and DeBERTa-v2 models saved from transformers configs (nothing is downloaded).
Independent commands run a few at a time (each is its own process) to keep the file's runtime down.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from clitools import (
    CLI,
    FAST,
    assert_one_line_error,
    can_deny_reads,
    cli_env,
    drop_file_read_override,
    run_cli,
)
from longembed.settings import IndexSettings
from longembed.store import Store, point_id
from files import write_pdf

BASE_TEXTS = {
    "cats.txt": "Cats purr and chase mice around the barn at night.",
    "rockets.txt": "The rocket engine burns liquid oxygen and kerosene at launch.",
    "harbour.md": "# Harbour\nThe harbour committee approved a new pier for the fishing fleet.",
}
FRENCH = "Le comité a décidé que la télécommande coûterait 12,50 € et serait livrée en août. " * 3
GERMAN = "Größe und Maße der Fernbedienung: zwölf Euro pro Stück. " * 10
HUGE_BYTES = 50 * 1024 * 1024
WORKERS = 3


def in_parallel(*calls):
    """Run independent CLI commands (zero-argument callables) a few at a time; results in order."""
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(lambda call: call(), calls))


def state(store: Path, collection: str = "c") -> dict[str, str]:
    """path -> sha256 of every point (checking id = UUID5(path) and one point per path)."""
    with Store(path=store, create=False) as db:
        if not db.exists(collection):
            return {}
        found = list(db.scroll(collection, payload=["path", "sha256"]))
    out = {}
    for p in found:
        assert p.point_id == point_id(p.payload["path"]) and p.payload["path"] not in out
        out[p.payload["path"]] = p.payload["sha256"]
    return out


def payloads(store: Path, collection: str = "c") -> dict[str, dict]:
    with Store(path=store, create=False) as db:
        found = list(db.scroll(collection))
    return {p.payload["path"]: p.payload for p in found}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    """A store with collection ``c`` holding three documents, built by the CLI; cases work on copies of it."""
    work = tmp_path_factory.mktemp("base")
    docs = work / "docs"
    docs.mkdir()
    for name, text in BASE_TEXTS.items():
        (docs / name).write_text(text)
    done = run_cli("ingest", str(docs), "--store", str(work / "store"), "--collection", "c", *FAST, cwd=work)
    assert done.returncode == 0, done.stderr
    expected = {name: hashlib.sha256(text.encode()).hexdigest() for name, text in BASE_TEXTS.items()}
    assert state(work / "store") == expected
    return {"work": work, "docs": docs, "store": work / "store", "state": expected}


def copy_store(base: dict, dest: Path) -> Path:
    shutil.copytree(base["store"], dest)
    return dest


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory, model_path) -> dict[str, Path]:
    """Random-weight models: BERT without tokenizer files, BERT with the MiniLM tokenizer, DeBERTa-v2 (relative
    positions only) with the MiniLM tokenizer."""
    import torch
    from transformers import AutoModel, BertConfig, DebertaV2Config

    root = tmp_path_factory.mktemp("models")
    small = dict(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    out = {}
    for name, config in {
        "bert-no-tokenizer": BertConfig(**small),
        "bert": BertConfig(**small),
        "deberta": DebertaV2Config(**small, position_biased_input=False, relative_attention=True),
    }.items():
        torch.manual_seed(0)
        AutoModel.from_config(config).save_pretrained(root / name)
        if name != "bert-no-tokenizer":
            for f in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
                shutil.copy(Path(model_path) / f, root / name / f)
        out[name] = root / name
    return out


# ---------------------------------------------------------------------------------------------- files


def make_messy_folder(docs: Path) -> dict[str, str]:
    """One folder with every kind of bad file next to good ones. Returns the expected text of each stored file."""
    docs.mkdir()
    (docs / "good.txt").write_text("The remote control budget is 12.50 euros.")
    (docs / "SHOUT.TXT").write_text("Upper-case extensions are read too.")
    (docs / "empty.txt").write_bytes(b"")
    (docs / "blank.md").write_text("  \n\t\n   ")
    (docs / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16)
    (docs / "legacy.txt").write_bytes(FRENCH.encode("cp1252"))
    damaged = GERMAN.encode("utf-8")
    (docs / "damaged.txt").write_bytes(damaged[:100] + b"\xff" + damaged[100:])
    (docs / "utf16.txt").write_bytes(codecs.BOM_UTF16_LE + "Rockets burn kerosene — ünïcödé.".encode("utf-16-le"))
    words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ".encode()
    (docs / "huge.txt").write_bytes((words * (HUGE_BYTES // len(words) + 1))[:HUGE_BYTES])
    os.symlink("loop.txt", docs / "loop.txt")  # a symlink to itself
    os.symlink("nowhere.txt", docs / "dangling.txt")
    (docs / "sub").mkdir()
    (docs / "sub" / "inner.md").write_text("Nested notes about the kickoff meeting.")
    os.symlink("..", docs / "sub" / "up")  # a folder symlink loop: not followed
    (docs / ".hidden.txt").write_text("hidden file")
    (docs / ".git").mkdir()
    (docs / ".git" / "HEAD.txt").write_text("ref: refs/heads/main")
    (docs / "image.png").write_bytes(b"\x89PNG")
    (docs / "table.csv").write_text("a,b\n1,2\n")
    write_pdf(docs / "whole.pdf", ["First page text", "Second page text"])
    pdf = (docs / "whole.pdf").read_bytes()
    (docs / "corrupt.pdf").write_bytes(pdf[: len(pdf) // 2])
    (docs / "page.html").write_text(
        "<html><head><title>Kickoff</title><style>p {color: red}</style>"
        "<script>var secret = 'hidden';</script></head>"
        "<body><h1>Agenda</h1><p>Pick a <b>trendy</b> look.</p><script>track()</script></body></html>"
    )
    os.mkfifo(docs / "pipe.txt")  # reading a FIFO would block forever
    return {
        "good.txt": "The remote control budget is 12.50 euros.",
        "SHOUT.TXT": "Upper-case extensions are read too.",
        "legacy.txt": FRENCH,
        "damaged.txt": None,  # checked below: U+FFFD in place of the bad byte
        "utf16.txt": "Rockets burn kerosene — ünïcödé.",
        "huge.txt": None,
        "sub/inner.md": "Nested notes about the kickoff meeting.",
        "whole.pdf": None,
        "page.html": "Agenda\nPick a trendy look.",
    }


@pytest.mark.slow  # two CLI ingests of a 50 MB file and 15 others: ~55 s on 2 shared cores
def test_every_kind_of_bad_file_in_one_folder(tmp_path):
    docs = tmp_path / "docs"
    expected = make_messy_folder(docs)
    store = tmp_path / "store"
    done = run_cli("ingest", str(docs), "--store", str(store), "--collection", "c", *FAST, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    err = done.stderr.splitlines()
    assert err[0] == (
        f"reading 16 file(s) under {docs.resolve()} (skipped: 2 unsupported, 2 hidden, 1 symlinked folder(s))"
    )
    failed = sorted(line for line in err if line.startswith("failed: "))
    assert failed == [
        "failed: blank.md: whitespace only, no text",
        "failed: corrupt.pdf: not a readable PDF: Stream has ended unexpectedly",
        "failed: dangling.txt: broken symlink (its target does not exist)",
        "failed: empty.txt: empty file",
        "failed: loop.txt: symlink loop (the link points back to itself)",
        "failed: photo.txt: binary file, not text (it holds NUL bytes and no UTF-16/32 byte-order mark)",
        "failed: pipe.txt: not a regular file",
    ]
    assert "WARNING: legacy.txt: not valid UTF-8 (first invalid byte at offset 8); decoded as cp1252" in err
    assert (
        "WARNING: damaged.txt: not valid UTF-8 (first invalid byte at offset 100); "
        "1 invalid byte sequence(s) replaced with U+FFFD" in err
    )
    assert "WARNING: utf16.txt: decoded as UTF-16-LE (byte-order mark)" in err
    assert not [line for line in err if " has more than " in line]  # per-file lines only with --verbose
    truncations = [line for line in err if "truncated to 128 tokens" in line]  # one line counts them
    assert len(truncations) == 1 and re.fullmatch(
        r"WARNING: \d+ documents? truncated to 128 tokens \(longest: more than \d+ tokens\); raise --max-length "
        r"to keep more; --verbose names each", truncations[0]
    ), truncations
    assert done.stdout.strip().startswith("ingested 9 documents (")
    assert ": 9 new, 0 updated, 0 unchanged, 0 pruned, 7 failed; " in done.stdout
    assert "skipped 2 unsupported, 2 hidden, 1 symlinked folder(s)" in done.stdout

    stored = payloads(store)
    assert sorted(stored) == sorted(expected)
    for path, text in expected.items():
        if text is not None:
            assert stored[path]["text"] == text, path
    assert stored["legacy.txt"]["encoding"] == "cp1252"
    assert stored["utf16.txt"]["encoding"] == "utf-16-le"
    damaged = GERMAN.encode()
    assert stored["damaged.txt"]["text"] == (damaged[:100] + b"\xff" + damaged[100:]).decode("utf-8", "replace")
    assert stored["huge.txt"]["text_chars"] == HUGE_BYTES and stored["huge.txt"]["truncated"] is True
    assert len(stored["huge.txt"]["text"]) == 1_000_000
    assert stored["huge.txt"]["sha256"] == hashlib.sha256((docs / "huge.txt").read_bytes()).hexdigest()
    assert "secret" not in stored["page.html"]["text"] and "color" not in stored["page.html"]["text"]
    assert "First page text" in stored["whole.pdf"]["text"] and "Second page text" in stored["whole.pdf"]["text"]

    again = run_cli("ingest", str(docs), "--store", str(store), "--collection", "c", *FAST, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "ingested 0 documents (0 tokens): 0 new, 0 updated, 9 unchanged, 0 pruned, 7 failed" in again.stdout


def test_file_that_disappears_during_the_run_is_reported_and_pruned(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(19):
        (docs / f"note{i:02d}.txt").write_text(f"Note number {i} about the harbour budget.")
    (docs / "zz_last.txt").write_text("The last note, deleted while the ingest runs.")
    store = tmp_path / "store"
    first = run_cli("ingest", str(docs), "--store", str(store), "--collection", "c", *FAST, cwd=tmp_path)
    assert first.returncode == 0 and len(state(store)) == 20
    err_file = tmp_path / "err.txt"
    with open(err_file, "w") as err, open(tmp_path / "out.txt", "w") as out:
        # --force re-embeds everything: the model loads after the first batch, long before zz_last.txt is read
        proc = subprocess.Popen(
            [*CLI, "ingest", str(docs), "--store", str(store), "--collection", "c", *FAST, "--force", "--prune"],
            cwd=tmp_path, env=cli_env(), stdout=out, stderr=err,
        )
        deadline = time.monotonic() + 300
        while "reading 20 file(s)" not in err_file.read_text() and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        (docs / "zz_last.txt").unlink()
        code = proc.wait(timeout=300)
    stderr, stdout = err_file.read_text(), (tmp_path / "out.txt").read_text()
    assert code == 0, stderr
    assert "failed: zz_last.txt: file disappeared during the run" in stderr.splitlines()
    assert "pruned: zz_last.txt" in stderr.splitlines()
    assert ": 0 new, 19 updated, 0 unchanged, 1 pruned, 1 failed;" in stdout
    assert sorted(state(store)) == [f"note{i:02d}.txt" for i in range(19)]


@pytest.mark.slow  # three CLI processes
@pytest.mark.skipif(not can_deny_reads(), reason="cannot run a child that obeys file permissions here")
def test_unreadable_file_and_folder_are_reported(tmp_path):
    """As root the child runs without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH, so ``chmod 000`` really denies it."""
    docs = tmp_path / "docs"
    (docs / "locked_dir").mkdir(parents=True)
    (docs / "good.txt").write_text("Readable text about the pier.")
    (docs / "locked.txt").write_text("Secret text nobody may read.")
    (docs / "locked_dir" / "inside.txt").write_text("Inside a folder nobody may list.")
    (docs / "locked.txt").chmod(0)
    (docs / "locked_dir").chmod(0)
    preexec = drop_file_read_override if os.geteuid() == 0 else None
    try:
        done, root = in_parallel(
            lambda: run_cli(
                "ingest", str(docs), "--store", str(tmp_path / "store"), "--collection", "c", *FAST, cwd=tmp_path,
                preexec_fn=preexec,
            ),
            lambda: run_cli(  # the folder given as PATH cannot be listed at all
                "ingest", str(docs / "locked_dir"), "--store", str(tmp_path / "store2"), *FAST, cwd=tmp_path,
                preexec_fn=preexec,
            ),
        )
    finally:
        (docs / "locked.txt").chmod(stat.S_IRUSR | stat.S_IWUSR)
        (docs / "locked_dir").chmod(stat.S_IRWXU)
    assert_one_line_error(root, f"cannot list the folder '{docs / 'locked_dir'}': Permission denied")
    assert not (tmp_path / "store2").exists()
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert "failed: locked.txt: no permission to read the file" in lines
    assert "failed: locked_dir/: cannot list this folder: Permission denied" in lines
    assert ": 1 new, 0 updated, 0 unchanged, 0 pruned, 2 failed;" in done.stdout
    assert sorted(state(tmp_path / "store")) == ["good.txt"]


# ------------------------------------------------------------------------------------- paths and setup


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket closes


@pytest.mark.slow  # many CLI processes
def test_path_model_and_option_errors(tmp_path, base, tiny_models):
    docs = base["docs"]
    other_model = copy_store(base, tmp_path / "other-model")
    stores = iter(tmp_path / f"store{i}" for i in range(100))  # one store per command: they run in parallel

    def ingest(*args, store=None):
        store = store or next(stores)
        return lambda: run_cli(
            "ingest", *args, "--store", str(store), "--collection", "c", "--no-progress", cwd=tmp_path
        )

    (tmp_path / "single").mkdir()
    single = tmp_path / "single" / "one.md"
    single.write_text("# One file\nA single file is ingested like a folder of one.")
    (tmp_path / "pictures").mkdir()
    (tmp_path / "pictures" / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "blank").mkdir()
    (tmp_path / "blank" / "empty.txt").write_bytes(b"")
    (tmp_path / "blank" / "spaces.md").write_text("   ")
    port = closed_port()
    (
        missing, single_ok, no_model, no_tokenizer, not_applicable, zero, negative, absurd, too_small, not_int,
        other, unreachable, debug, no_supported, unsupported_file, nothing_readable, unknown_method,
    ) = in_parallel(
        ingest(str(tmp_path / "nope")),
        ingest(str(single), *FAST[:4], store=tmp_path / "single-store"),
        ingest(str(docs), "--model", str(tmp_path / "no-such-model")),
        ingest(str(docs), "--model", str(tiny_models["bert-no-tokenizer"])),
        ingest(str(docs), "--model", str(tiny_models["deberta"]), "--extend", "pi", "--max-length", "256"),
        ingest(str(docs), "--max-length", "0"),
        ingest(str(docs), "--max-length", "-5"),
        ingest(str(docs), "--max-length", str(10**9)),
        ingest(str(docs), "--max-length", "1"),
        ingest(str(docs), "--max-length", "lots"),
        ingest(str(docs), "--model", str(tiny_models["bert"]), *FAST[:4], store=other_model),
        lambda: run_cli("ingest", str(docs), "--qdrant-url", f"http://127.0.0.1:{port}", *FAST, cwd=tmp_path),
        lambda: run_cli("--debug", "ingest", str(tmp_path / "nope"), "--store", str(next(stores)), cwd=tmp_path),
        ingest(str(tmp_path / "pictures"), store=tmp_path / "store-a"),
        ingest(str(tmp_path / "pictures" / "image.png"), store=tmp_path / "store-b"),
        ingest(str(tmp_path / "blank"), store=tmp_path / "store-c"),
        ingest(str(docs), "--extend", "bogus", store=tmp_path / "store-d"),
    )
    assert_one_line_error(missing, f"path '{tmp_path / 'nope'}' does not exist")
    assert single_ok.returncode == 0, single_ok.stderr
    assert ": 1 new, 0 updated, 0 unchanged" in single_ok.stdout
    assert state(tmp_path / "single-store") == {"one.md": hashlib.sha256(single.read_bytes()).hexdigest()}
    assert_one_line_error(no_model, f"model path '{tmp_path / 'no-such-model'}' does not exist")
    assert_one_line_error(
        no_tokenizer, f"could not load a tokenizer from '{tiny_models['bert-no-tokenizer']}': it has no tokenizer files"
    )
    assert_one_line_error(
        not_applicable, "extension method 'pi' does not apply to a model with unrecognised position encoding",
        "methods that do: none",
    )
    assert_one_line_error(zero, "--max-length must be a positive number of tokens, got 0")
    assert_one_line_error(negative, "--max-length must be a positive number of tokens, got -5")
    assert_one_line_error(absurd, "--max-length 1000000000 is larger than the supported 1048576 tokens")
    assert_one_line_error(too_small, "max length 1 leaves no room for text next to 2 special tokens")
    assert not_int.returncode == 2 and "'lots' is not a valid integer" in not_int.stderr
    assert_one_line_error(other, "collection 'c' was built with other settings (model:", "choose another --collection")
    assert state(other_model) == base["state"]  # nothing stored was lost
    assert_one_line_error(unreachable, f"cannot reach the Qdrant server at http://127.0.0.1:{port}")
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "IngestError" in debug.stderr
    assert_one_line_error(no_supported, "no supported files (.txt, .md, .pdf, .html, .htm) under")
    assert_one_line_error(unsupported_file, "image.png' is not a supported file type")
    line = assert_one_line_error(nothing_readable, "no document could be ingested from")
    assert "empty.txt: empty file" in line and "spaces.md: whitespace only, no text" in line
    assert unknown_method.returncode == 2
    assert "Invalid value for '--extend': 'bogus' is not one of" in unknown_method.stderr
    assert not any((tmp_path / f"store-{x}").exists() for x in "abd")
    assert state(tmp_path / "store-c") == {}
    # no failed command wrote a collection; those that fail on their options or path did not even create a store
    for i in range(11):
        store = tmp_path / f"store{i}"
        assert not store.exists() or state(store) == {}, store
    for i in (0, 1, 4, 5, 6, 8, 9):  # missing path or model, option errors, --debug with a missing path
        assert not (tmp_path / f"store{i}").exists()


# ------------------------------------------------------------------------------------------ store safety


@pytest.mark.slow  # a held store and several CLI processes
def test_store_held_by_another_process(tmp_path, base):
    store = copy_store(base, tmp_path / "store")
    holder = subprocess.Popen(
        [CLI[0], "-c", f"from longembed.store import Store; s = Store({str(store)!r}); print('ready', flush=True); "
         "import time; time.sleep(600)"],
        env=cli_env(), stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        ingest, query = in_parallel(
            lambda: run_cli("ingest", str(base["docs"]), "--store", str(store), "--collection", "c", *FAST,
                            cwd=tmp_path),
            lambda: run_cli("query", "cats", "--store", str(store), "--collection", "c", cwd=tmp_path),
        )
    finally:
        holder.kill()
        holder.wait()
    for done in (ingest, query):
        assert_one_line_error(done, f"the store {store} is in use by another longembed process")
    assert state(store) == base["state"]


@pytest.mark.slow  # several CLI processes
def test_damaged_foreign_and_newer_stores_are_refused_and_left_untouched(tmp_path, base):
    stores = {name: copy_store(base, tmp_path / name) for name in ("meta", "shard", "nodata", "newer")}
    collection = Path("collections") / "c"
    (stores["meta"] / collection / "collection.json").write_text('{"schema": ')  # cut short
    (stores["shard"] / collection / "shard" / "edge_config.json").write_bytes(b"this is not a shard" * 100)
    shutil.rmtree(stores["nodata"] / collection / "shard")
    description = json.loads((stores["newer"] / collection / "collection.json").read_text())
    description["metadata"]["settings"]["settings_version"] = 99
    (stores["newer"] / collection / "collection.json").write_text(json.dumps(description))
    foreign = tmp_path / "my-documents"
    foreign.mkdir()
    (foreign / "thesis.docx").write_bytes(b"precious")
    a_file = tmp_path / "store-file"
    a_file.write_text("not a folder")
    snapshot = {
        p: p.read_bytes() for root in [*stores.values(), foreign] for p in sorted(root.rglob("*")) if p.is_file()
    }

    def ingest(store):
        return lambda: run_cli(
            "ingest", str(base["docs"]), "--store", str(store), "--collection", "c", *FAST, cwd=tmp_path
        )

    meta_bad, shard_bad, nodata, newer, foreign_dir, is_file, query_newer, query_missing = in_parallel(
        ingest(stores["meta"]),
        ingest(stores["shard"]),
        ingest(stores["nodata"]),
        ingest(stores["newer"]),
        ingest(foreign),
        ingest(a_file),
        lambda: run_cli("query", "cats", "--store", str(stores["newer"]), "--collection", "c", cwd=tmp_path),
        lambda: run_cli("query", "cats", "--store", str(tmp_path / "no-store"), cwd=tmp_path),
    )
    assert_one_line_error(meta_bad, f"the store {stores['meta']} is damaged", "collection.json is unreadable",
                          "left untouched")
    assert_one_line_error(shard_bad, f"cannot open collection 'c' in {stores['shard']}: it is damaged",
                          "edge_config.json", "left untouched")
    assert_one_line_error(nodata, f"cannot open collection 'c' in {stores['nodata']}: it is damaged",
                          "does not exist", "left untouched")
    assert_one_line_error(newer, "was written by a newer longembed (settings version 99, this one reads 1)")
    assert_one_line_error(query_newer, "was written by a newer longembed")
    assert_one_line_error(foreign_dir, f"{foreign} is not a longembed store and is not empty",
                          "thesis.docx")
    assert_one_line_error(is_file, f"the store path {a_file} is a file, not a store directory")
    assert_one_line_error(query_missing, f"there is no store at {tmp_path / 'no-store'}")
    assert not (tmp_path / "no-store").exists()
    after = {p: p.read_bytes() for root in [*stores.values(), foreign] for p in sorted(root.rglob("*")) if p.is_file()}
    for path, content in snapshot.items():  # every byte of every refused store is still there
        if path.name != ".lock":
            assert after[path] == content, path
    assert sorted(after) == sorted(snapshot)
    assert a_file.read_text() == "not a folder"


# ---------------------------------------------------------------------------------------------- queries


@pytest.mark.slow  # a dozen CLI query processes
def test_query_errors_and_edge_cases(tmp_path, base):
    # one store copy per command: they run in parallel and a local store admits one process at a time
    copies = iter(copy_store(base, tmp_path / f"store{i}") for i in range(8))
    empty = tmp_path / "empty-store"
    with Store(path=empty) as db:
        db.ensure_collection("c", IndexSettings(extend="none", max_length=128), 384)
    empty_copy = Path(shutil.copytree(empty, tmp_path / "empty-store-2"))
    megabyte = ("The rocket engine burns liquid oxygen and kerosene at launch. " * 20_000)[: 1 << 20]

    def query(*args, store=None, stdin=None, collection="c"):
        store = store or next(copies)
        return lambda: run_cli(
            "query", *args, "--store", str(store), "--collection", collection, cwd=tmp_path, stdin=stdin
        )

    blank, spaces, huge, k0, kneg, khuge, knot, unknown, empty_text, empty_json = in_parallel(
        query(""),
        query("   \n "),
        query("-", "-k", "1", "--json", stdin=megabyte),
        query("cats", "-k", "0"),
        query("cats", "-k", "-3"),
        query("cats", "-k", str(10**12)),
        query("cats", "-k", "many"),
        query("cats", collection="nope"),
        query("cats", store=empty),
        query("cats", "--json", store=empty_copy),
    )
    assert_one_line_error(blank, "the query is empty")
    assert_one_line_error(spaces, "the query is empty")
    assert huge.returncode == 0, huge.stderr
    assert json.loads(huge.stdout)[0]["path"] == "rockets.txt"
    warning = [line for line in huge.stderr.splitlines() if line.startswith("WARNING: query of")]
    assert len(warning) == 1 and warning[0].endswith("tokens truncated to 128 (--extend none, L_o = 512)")
    assert_one_line_error(k0, "k must be between 1 and 1000, got 0")
    assert_one_line_error(kneg, "k must be between 1 and 1000, got -3")
    assert_one_line_error(khuge, f"k must be between 1 and 1000, got {10**12}")
    assert knot.returncode == 2 and "'many' is not a valid integer" in knot.stderr
    assert_one_line_error(unknown, "collection 'nope' does not exist", "(collections: c)")
    assert empty_text.returncode == 0 and empty_text.stdout.strip() == "no documents in the collection"
    assert empty_json.returncode == 0 and json.loads(empty_json.stdout) == []
    for i in range(8):
        assert state(tmp_path / f"store{i}") == base["state"]
