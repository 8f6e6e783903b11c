"""``python -m longembed.cli``: the ``longembed`` command."""

from longembed.cli import main

main()
