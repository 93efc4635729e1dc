"""What AWS does with models, done by predictable engines: text extraction, passage chunking (and later
retrieval, prompt rendering, generation, guardrails)."""
