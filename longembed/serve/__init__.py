"""Serving over HTTP: request checks (:mod:`longembed.serve.security`), request safety
(:mod:`longembed.serve.requests`), fair sharing of the model between requests (:mod:`longembed.serve.fair`).
The app itself lives in :mod:`longembed.retrieve.server`."""
