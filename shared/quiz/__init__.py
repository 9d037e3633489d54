"""The real-or-generated quiz's rounds in Postgres (see QuizStore)."""

from shared.quiz.store import QuizStore, Round

__all__ = ["QuizStore", "Round"]
