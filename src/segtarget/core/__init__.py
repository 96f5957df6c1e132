"""Plumbing shared by every area: params, atomic io, paths, errors, cli, provenance, fonts, labels. Imports nothing else of the project."""
