"""How a batch grades an answer against the task's `expected` one: a named rule, or any function.

Models pad their answers (`36 (3 × 12)`, `The answer is Paris.`), so the default rule, `normalized`,
forgives what does not change the answer; `exact` is the strict one, `contains` and `regex` the
loose ones. Graders see the answer as JSON data (as it is in the results file), so that a batch
graded again from its results gets the same verdicts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal, TypeAlias

from mcpagents.batch.tasks import answer_matches, jsonable
from mcpagents.errors import ConfigError

Grader: TypeAlias = Callable[[Any, Any], bool]
"""`grader(answer, expected) -> bool`: the answer (JSON data) is `expected`."""
Grade = Literal["exact", "normalized", "contains", "regex"]
GRADES: tuple[Grade, ...] = ("exact", "normalized", "contains", "regex")
DEFAULT_GRADE: Grade = "normalized"

_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_TRAILING = ".!?;:,"


def normalized_matches(answer: Any, expected: Any) -> bool:
    """A numeric `expected` (`36`, `"36"`) matches an answer whose first number equals it (`36.0`,
    `36 (3 × 12)`, `The answer is 36.`, `1,024` for 1024); other text matches with case, runs of
    whitespace and trailing punctuation aside (`Paris.` for `paris`); other JSON values as `exact`."""
    if isinstance(expected, bool) or not isinstance(expected, str | int | float):
        return answer_matches(answer, expected)
    target = _number(str(expected).strip())
    if target is not None:
        found = _NUMBER.search(_text(answer))
        return found is not None and _number(found.group()) == target
    return _normalize(_text(answer)) == _normalize(str(expected))


def contains_matches(answer: Any, expected: Any) -> bool:
    """The normalized `expected` text is in the normalized answer, as whole words (`36` in
    `3 × 12 = 36`, not in `360`)."""
    wanted = re.escape(_normalize(_text(expected)))
    return re.search(rf"(?<!\w){wanted}(?!\w)", _normalize(_text(answer))) is not None


def regex_matches(answer: Any, expected: Any) -> bool:
    """`expected` is a regular expression, searched for in the answer's text."""
    try:
        return re.search(str(expected), _text(answer)) is not None
    except re.error as error:
        raise ConfigError(f"expected: not a regular expression ({error}): {expected!r}") from error


GRADERS: dict[Grade, Grader] = {
    "exact": answer_matches,
    "normalized": normalized_matches,
    "contains": contains_matches,
    "regex": regex_matches,
}


def grader_of(grade: Grade | Grader) -> Grader:
    """The grader a rule names, or the function given."""
    if callable(grade):
        return grade
    if grade not in GRADERS:
        raise ConfigError(f"grade: expected one of {', '.join(GRADES)} or a function, got {grade!r}")
    return GRADERS[grade]


def _text(value: Any) -> str:
    value = jsonable(value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _normalize(text: str) -> str:
    return " ".join(text.split()).casefold().rstrip(_TRAILING).strip()


def _number(text: str) -> float | None:
    if _NUMBER.fullmatch(text) is None:
        return None
    return float(text.replace(",", ""))
