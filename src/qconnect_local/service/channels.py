"""The signal channels long polls wait on (`store.signals`): named here so that every writer that
should wake a waiter (a recommendation queued, the session's assistant deleted) names the same."""

from __future__ import annotations


def recommendations(session_id: str) -> str:
    """What a session's GetRecommendations long polls wait on."""
    return f"recommendations/{session_id}"


def conversation(session_id: str) -> str:
    """What a session's GetNextMessage waits on: a turn of it answered (or failed)."""
    return f"conversation/{session_id}"
