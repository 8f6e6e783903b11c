"""Serving over HTTP: request checks (:mod:`longembed.serve.security`), request safety
(:mod:`longembed.serve.requests`). The app itself lives in :mod:`longembed.retrieve.server`."""
