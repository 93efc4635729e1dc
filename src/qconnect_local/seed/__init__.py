"""Seed data: resources described in YAML or JSON, applied at start (`serve --init PATH`).

The format is in docs/seed-and-snapshots.md. Every entry goes through the API itself (an
in-process botocore client, `seed.transport`), so a seeded resource is what the same call
over HTTP would have made; entries already present are skipped, so a seed applies twice.
"""

from qconnect_local.seed.loading import SeedError, SeedFile, load_seed

# `seed.apply.apply_seed` is imported where it is used: it loads boto3, which a start without
# --init need not pay for.
__all__ = ["SeedError", "SeedFile", "load_seed"]
