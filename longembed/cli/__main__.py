"""``python -m longembed.cli``: the ``longembed`` command."""

from longembed.cli import main

if __name__ == "__main__":  # pragma: no cover - importing this module (pydoc, a doc tool) runs nothing
    main()
