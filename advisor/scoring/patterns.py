"""User regular expressions and phrases, matched with RE2: time linear in the text, so no pattern can hang a run.

Python's `re` backtracks: `^(a+)+$` against "aaaa...b" takes seconds per row and doubles with each extra "a".
RE2 has no backtracking, hence no backreferences, lookaround or atomic groups; those patterns are refused at
load time. Python spellings RE2 lacks or reads differently are translated so valid patterns keep their meaning:
\\d \\w \\s (and \\D \\W \\S) match Unicode digits, letters and spaces as in Python, \\Z is the end of the text,
\\uXXXX \\UXXXXXXXX \\N{NAME} are characters, x{,n} is x{0,n}, and `$` also matches before a final newline.
One difference remains: \\b and \\B are RE2's ASCII word boundaries (next to a non-ASCII letter, write
(?:^|\\W) and (?:\\W|$) instead).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import re2

from advisor.errors import shown

MAX_PATTERN_CHARS = 1000   # a regex option or one phrase; real ones are a few dozen characters
MAX_PHRASES = 1000         # keywords / banned phrases in one criterion (each is one search per row)
RE2_HINT = ("the regex scorer uses RE2 syntax: no backreferences (\\1), lookahead/lookbehind ((?=...), (?<!...)), "
            "atomic groups, possessive quantifiers or (?x) verbose mode")

# Python's Unicode classes, spelled for RE2 (inside a [...] class, and as a class of their own)
_WORD = r"\pL\pN_"
_DIGIT = r"\p{Nd}"
_SPACE = r"\s\v\x1c-\x1f\x85\pZ"  # str.isspace(): ASCII space, \v, the separators \x1c-\x1f, NEL and Unicode Z*
_OUTSIDE = {"d": _DIGIT, "D": r"\P{Nd}", "w": f"[{_WORD}]", "W": f"[^{_WORD}]", "s": f"[{_SPACE}]",
            "S": f"[^{_SPACE}]", "Z": r"\z"}
# inside [...] \b is a backspace; \W and \S stay RE2's (ASCII), since a class cannot hold a negated union
_INSIDE = {"d": _DIGIT, "D": r"\P{Nd}", "w": _WORD, "s": _SPACE, "b": r"\x08"}
_OPEN_MIN = re.compile(r"\{,(\d+)\}")


class PatternError(ValueError):
    """A pattern RE2 cannot use; str() is a one-line reason (bounded)."""


def _options(ignore_case: bool) -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # RE2 would print its own message on stderr
    options.case_sensitive = not ignore_case
    return options


def to_re2(pattern: str) -> str:
    """`pattern` in Python `re` syntax rewritten to RE2 syntax with the same meaning (see the module docstring)."""
    out: list[str] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            esc = pattern[i + 1]
            if esc == "u" or esc == "U":
                width = 4 if esc == "u" else 8
                digits = pattern[i + 2: i + 2 + width]
                if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                    raise PatternError(f"\\{esc} needs {width} hex digits")
                out.append(f"\\x{{{digits}}}")
                i += 2 + width
                continue
            if esc == "N" and pattern[i + 2: i + 3] == "{":
                end = pattern.find("}", i + 3)
                name = pattern[i + 3: end] if end > 0 else ""
                try:
                    out.append(f"\\x{{{ord(unicodedata.lookup(name)):x}}}")
                except KeyError:
                    raise PatternError(f"unknown character name {shown(name, 40)} in \\N{{...}}") from None
                i = end + 1
                continue
            table = _INSIDE if in_class else _OUTSIDE
            out.append(table.get(esc, ch + esc))
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            elif ch == "[":  # Python reads `[[:alpha:]]` as a set holding '[' (RE2: a POSIX class)
                ch = "\\["
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            in_class = True
            start = i + 1 + (pattern[i + 1: i + 2] == "^")
            if pattern[start: start + 1] == "]":  # `[]...]` and `[^]...]`: a leading ] is a literal
                out.append(pattern[i:start] + "\\]")
                i = start + 1
                continue
            out.append(pattern[i:start])
            i = start
            continue
        if ch == "]":  # a stray ] is a literal in Python
            ch = "\\]"
        elif ch == "{":
            match = _OPEN_MIN.match(pattern, i)
            if match and out:
                out.append(f"{{0,{match.group(1)}}}")
                i = match.end()
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _compile(body: str, ignore_case: bool, source: str) -> re2._Regexp:
    try:
        return re2.compile(body, _options(ignore_case))
    except re2.error as err:
        reason = err.args[0] if err.args else "invalid"
        reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        kind, _, fragment = " ".join(reason.split()).partition(": ")  # RE2: "missing ): <part of the pattern>"
        # the fragment is of the translated pattern: shown only when the user wrote it that way
        raise PatternError(f"{kind}: {shown(fragment, 40)}" if fragment and fragment in source else kind) from None


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # a lone surrogate in model output must not crash scoring


@dataclass(frozen=True)
class Pattern:
    """A compiled user regex: `matches(text)` is search (or fullmatch of the trimmed text) with Python's meaning."""

    source: str
    fullmatch: bool
    _regexp: object
    _dollar: bool  # `$` in the pattern: Python's $ also matches just before a final newline

    def matches(self, text: str) -> bool:
        regexp = self._regexp
        if self.fullmatch:
            return regexp.fullmatch(_utf8(text.strip())) is not None
        if regexp.search(_utf8(text)) is not None:
            return True
        return self._dollar and text.endswith("\n") and regexp.search(_utf8(text[:-1])) is not None


def compile_pattern(pattern: str, ignore_case: bool = False, fullmatch: bool = False) -> Pattern:
    """A user regex (Python syntax, RE2 semantics); PatternError when it is too long or RE2 cannot run it."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"the pattern has {len(pattern):,} characters; the limit is {MAX_PATTERN_CHARS:,}")
    body = to_re2(pattern)
    dollar = "$" in body and "\\z" not in body
    return Pattern(pattern, fullmatch, _compile(body, ignore_case, pattern), dollar)


def _phrase_body(phrase: str) -> str:
    body = f"[{_SPACE}]+".join(re2.escape(word) for word in phrase.split())
    # (?<!\w) and (?!\w) without lookaround: a non-word character or the edge of the text on each side
    return f"(?:^|[^{_WORD}]){body}(?:$|[^{_WORD}])"


def compile_phrase(phrase: str) -> Pattern:
    """Whole-word, case-insensitive match of `phrase`, any whitespace between its words; PatternError if too long."""
    if len(phrase) > MAX_PATTERN_CHARS:
        raise PatternError(f"{len(phrase):,} characters; the limit is {MAX_PATTERN_CHARS:,}")
    return Pattern(phrase, False, _compile(_phrase_body(phrase), True, phrase), False)


_FENCE = re2.compile(r"(?s)```[\w+-]*[ \t]*\n?(.*?)```", _options(ignore_case=False))


def fenced_blocks(text: str) -> list[str]:
    """The bodies of ``` fenced blocks in model output, in order (RE2: Python's `re` is quadratic on a long
    unclosed fence such as "```aaaa...")."""
    return [body.decode("utf-8", "surrogatepass") for body in _FENCE.findall(_utf8(text))]
