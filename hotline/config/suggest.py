""""Did you mean ...?" for misspelt names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like `word`, if one is close enough to be a likely typo."""
    names = [c for c in candidates if c != word]
    folded = {c.casefold(): c for c in names}
    if word.casefold() in folded:  # differs only in case
        return folded[word.casefold()]
    matches = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`" (did you mean 'x'?)"` or `""`."""
    near = closest(word, candidates)
    return f" (did you mean {near!r}?)" if near is not None else ""


def unknown(kind: str, word: object, candidates: Iterable[str]) -> str:
    """`"no queue named 'x' (did you mean 'y'?)"`, or listing the few there are."""
    names = sorted(candidates)
    text = f"no {kind} named {str(word)!r}"
    hint = did_you_mean(str(word), names)
    if hint:
        return text + hint
    if not names:
        return text + " (none is defined)"
    if len(names) <= 8:
        return text + f" (known: {', '.join(names)})"
    return text
