"""Interpreters over primitives: staging, forward mode, partial evaluation, transposition, batching."""
