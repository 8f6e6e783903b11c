"""Benchmarks on the LongEmbed tasks (see ``longembed.bench.data`` for the task format)."""
