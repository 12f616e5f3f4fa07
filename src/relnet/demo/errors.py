"""The one error a page raises for bad input: a message for the page and an HTTP status."""

from __future__ import annotations


class BadRequestError(Exception):
    """Bad input (or a missing model): ``message`` is shown on the page, ``status`` is 4xx."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
