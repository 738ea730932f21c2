"""The use cases: one module each, each owning its transaction, with typed dependencies (deps.Services).

ingest, deliver, followthrough, rep_actions, lookup (and search), notes, routes, stats, privacy.
Handlers and the CLI call these; these call storage/ and briefs/ and Slack through bot.gateway.
"""
