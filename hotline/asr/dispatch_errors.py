"""Exceptions of the smart dispatch classifier: each names the file and what to fix."""

from __future__ import annotations


class DispatchError(Exception):
    """Base of every error raised by the dispatch classifier."""


class TrainingDataError(DispatchError, ValueError):
    """A labelled CSV that cannot be used (missing column, empty text, too few labels)."""


class ModelFormatError(DispatchError):
    """A model file that is not a dispatch model, is damaged, or has another format version."""
