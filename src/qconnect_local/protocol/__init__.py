"""restJson1, driven by the model: routing, parsing, validation, serialization, errors.

This package knows no resource: it turns HTTP into (operation, parameters) and
(operation, output or error) back into HTTP.
"""
