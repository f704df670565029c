"""The network-spec grammar: what follows ``--net`` (or is in a ``--net-file``), parsed by hand.

A network is written one of two ways, and :func:`parse_net` turns either into a tuple of
:class:`LayerSpec` (plain descriptions: a kind, PyTorch's keyword arguments, where it stands).

**Compact**: widths and layers in order, comma-separated. ``784,256,relu,10`` is
``Linear(784, 256), ReLU(), Linear(256, 10)``: the first width is the input's features and each
later width is a Linear from the width before it. A Linear without bias is its width with the
``:nobias`` marker: ``784,256:nobias,10``. A layer without parameters is its module's name in
lower case, with arguments where it has them: ``relu``, ``leakyrelu(0.2)``, ``gelu``,
``gelu(tanh)``, ``sigmoid``, ``tanh``, ``silu``, ``softmax(-1)`` (``softmax`` alone is
``Softmax()``, dim None), ``identity``, ``dropout(0.5)``, ``flatten`` (``nn.Flatten()``),
``flatten(2, -1)``. ``act`` (``--act relu``) puts that activation after each Linear that is
followed by another Linear with no activation written between them (Dropout is not an
activation; ``identity`` is, so writing it keeps one gap linear).

**PyTorch's text**: ``Linear(784, 256), ReLU(), Linear(256, 10)``, with positional or keyword
arguments as the constructors take them (``Linear(784, 256, bias=False)``, ``LeakyReLU(0.2)``,
``GELU(approximate='tanh')``, ``Softmax(dim=1)``, ``Dropout(p=0.5, inplace=False)``,
``Flatten(start_dim=1, end_dim=-1)``), each name optionally prefixed ``nn.`` or ``torch.nn.``;
``nn.Sequential(...)`` around that; or the whole of what ``print(model)`` shows for an
``nn.Sequential``, its ``(0): `` labels checked to count 0, 1, 2, ... (names such as ``(fc1): ``,
from an OrderedDict, are kept in ``where``).

Grammar (EBNF; spaces and newlines may stand between any two tokens)::

    spec     = compact | torch
    compact  = citem { "," citem }
    citem    = width [ ":" "nobias" ] | cname [ "(" [ args ] ")" ]
    width    = digit { digit }                       (no leading zero, at most 2**63-1)
    cname    = "relu" | "leakyrelu" | "gelu" | "sigmoid" | "tanh" | "silu" | "softmax"
             | "identity" | "dropout" | "flatten"
    torch    = seq | module { "," module }
    module   = prefix ( kind "(" [ args ] ")" | seq )
    seq      = prefix "Sequential" "(" [ module { "," module } [ "," ] | child { child } ] ")"
    child    = "(" ( digit { digit } | name ) ")" ":" module        (print(model)'s lines)
    prefix   = [ "nn" "." | "torch" "." "nn" "." ]
    kind     = "Linear" | "ReLU" | "LeakyReLU" | "GELU" | "Sigmoid" | "Tanh" | "SiLU"
             | "Softmax" | "Identity" | "Dropout" | "Flatten"
    args     = arg { "," arg } [ "," ]                 (keyword arguments after positional ones)
    arg      = [ name "=" ] value
    value    = [ "-" | "+" ] number | "True" | "False" | "None" | string | name  (name: compact)
    string   = "'" { char } "'" | '"' { char } '"'     (one line, no backslash, <= 64 chars)
    number   = Python's decimal int or float: 784, 0.2, .5, 1e-2, 1e+20

Decisions:

* The form is chosen by the first token: a name starting with an upper-case letter, ``nn`` or
  ``torch`` starts PyTorch's text; anything else is compact. An item of the other form is
  refused with its spelling in this one (``ReLU`` in a compact spec: write ``relu``).
* Nested Sequentials are flattened, which is exactly what they compute; ``where`` gives the
  dotted path ``named_modules`` would (``line 16, (13.0): ReLU()``). At most 16 levels.
* ``act`` applies to the compact form only: PyTorch's text describes a model as it is, so
  ``act`` with it is refused.
* ``inplace`` is accepted (ReLU, LeakyReLU, SiLU, Dropout) and not kept: it does not change a
  number. ``Linear``'s ``device`` and ``dtype`` are refused (linexplain has ``--dtype``);
  ``Identity``, ``Sigmoid`` and ``Tanh`` take no arguments (torch would ignore them).
* A network of parameter-free layers only (``relu``, ``Softmax(dim=-1)``) is allowed; an empty
  one (``Sequential()``) is refused, and so is a compact spec whose only width no Linear uses
  (``784`` or ``784,relu``: the width would be lost).
* In the compact form ``flatten`` stands before the first width (``flatten,12,5`` takes a
  (2, 3, 4) input); between two widths only when it keeps the last dim (``end_dim`` <= -2),
  since the width after it would not be known.
* A trailing comma is fine inside brackets, as in Python (``Linear(3, 4,)``), not between items.
* Limits, checked before the work they bound: text of at most 1,000,000 characters; at most
  2,000 items by a count of the separators first, then at most 1,000 layers; names and strings
  of at most 64 characters; numbers of at most 30 digits; at most 5 arguments in a call.

Nothing is ever run: the text is tokenized (names, numbers, strings, a few punctuation marks)
and parsed; values are literals only; any other character (``;``, ``[``, ``#`` ...), an
attribute other than ``nn.``/``torch.nn.``, a call that is not a layer and string prefixes
(``f'...'``) are refused as text. Every refusal is one :class:`LinexplainError`: what, where
(``position P``, or ``line L, column C`` in text of several lines) and the fix.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, NoReturn

from .errors import LinexplainError

MAX_TEXT = 1_000_000  # characters
MAX_ITEMS = 2_000  # items counted from the separators, before tokenizing
MAX_LAYERS = 1_000  # layers after parsing (nested Sequentials flattened, --act put in)
MAX_NAME_LEN = 64  # names and strings
MAX_DIGITS = 30
MAX_ARGS = 5  # the most any supported constructor takes (Linear with device and dtype)
MAX_DEPTH = 16  # nested Sequentials
MAX_SIZE = 2**63 - 1  # torch sizes and dims are int64

Value = int | float | bool | str | None


@dataclass(frozen=True)
class LayerSpec:
    """One layer as the spec describes it.

    ``kind`` is PyTorch's class name; ``args`` its keyword arguments in the constructor's order,
    defaults filled in (``(("in_features", 784), ("out_features", 256), ("bias", True))``,
    ``(("dim", None),)`` for ``Softmax()``, ``()`` for ``ReLU()``); ``where`` is where it stands
    in the text, for messages (``item 3 'relu'``, ``line 4, (2): ReLU()``).
    """

    kind: str
    args: tuple[tuple[str, object], ...]
    where: str

    def get(self, name: str) -> object:
        """The value of argument ``name`` (KeyError when the kind has no such argument)."""
        for key, value in self.args:
            if key == name:
                return value
        raise KeyError(name)


# ---------------------------------------------------------------------------------------------
# The kinds, their arguments and how each value is checked


class _Bad(Exception):
    """A value that does not fit an argument: what is wrong, and the fix."""

    def __init__(self, what: str, hint: str) -> None:
        super().__init__(what)
        self.what, self.hint = what, hint


class _Literal(NamedTuple):
    value: Value
    text: str  # as written
    pos: int
    bare: bool = False  # an unquoted name (compact form: gelu(tanh))


def _is_int(v: _Literal) -> bool:
    return isinstance(v.value, int) and not isinstance(v.value, bool)


def _size(v: _Literal, label: str) -> int:
    if not _is_int(v):
        raise _Bad(f"{label} is {v.text}, not a whole number", "a size is written 784, 0, 10")
    assert isinstance(v.value, int)
    if v.value < 0:
        raise _Bad(f"{label} is {v.text}, a negative size", "sizes are 0 or more")
    if v.value > MAX_SIZE:
        raise _Bad(
            f"{label} is {v.text}, larger than torch's largest size 2**63-1",
            "give a size from 0 to 2**63-1",
        )
    return v.value


def _bool(v: _Literal, label: str) -> bool:
    if not isinstance(v.value, bool):
        raise _Bad(f"{label} is {v.text}, not True or False", "write True or False, unquoted")
    return v.value


def _float(v: _Literal, label: str) -> float:
    if isinstance(v.value, bool) or not isinstance(v.value, (int, float)):
        raise _Bad(f"{label} is {v.text}, not a number", "write a decimal number, e.g. 0.01")
    return float(v.value)


def _probability(v: _Literal, label: str) -> float:
    p = _float(v, label)
    if not 0 <= p <= 1:
        raise _Bad(
            f"{label} is {v.text}: a dropout probability has to be between 0 and 1",
            "e.g. Dropout(p=0.5), dropout(0.5) in the compact form",
        )
    return p


def _approximate(v: _Literal, label: str) -> str:
    if v.value not in ("none", "tanh") or not isinstance(v.value, str):
        raise _Bad(
            f"{label} is {v.text}, not 'none' or 'tanh'",
            "write GELU(approximate='tanh') or GELU(); gelu(tanh) or gelu in the compact form",
        )
    return v.value


def _int(v: _Literal, label: str) -> int:
    if not _is_int(v):
        raise _Bad(
            f"{label} is {v.text}, not a dim",
            "a dim is a whole number, negative from the end: -1 is the last",
        )
    assert isinstance(v.value, int)
    if not -MAX_SIZE - 1 <= v.value <= MAX_SIZE:
        raise _Bad(f"{label} is {v.text}, out of int64's range", "dims are small numbers, e.g. -1")
    return v.value


def _dim(v: _Literal, label: str) -> int | None:
    return None if v.value is None else _int(v, label)


class _Param(NamedTuple):
    name: str
    default: object  # _REQUIRED for none
    check: Callable[[_Literal, str], object]
    kept: bool = True  # False: accepted, not recorded (inplace)


_REQUIRED = object()
_INPLACE = _Param("inplace", False, _bool, kept=False)

KINDS: dict[str, tuple[_Param, ...]] = {
    "Linear": (
        _Param("in_features", _REQUIRED, _size),
        _Param("out_features", _REQUIRED, _size),
        _Param("bias", True, _bool),
    ),
    "ReLU": (_INPLACE,),
    "LeakyReLU": (_Param("negative_slope", 0.01, _float), _INPLACE),
    "GELU": (_Param("approximate", "none", _approximate),),
    "Sigmoid": (),
    "Tanh": (),
    "SiLU": (_INPLACE,),
    "Softmax": (_Param("dim", None, _dim),),
    "Identity": (),
    "Dropout": (_Param("p", 0.5, _probability), _INPLACE),
    "Flatten": (_Param("start_dim", 1, _int), _Param("end_dim", -1, _int)),
}
COMPACT_NAMES: dict[str, str] = {kind.lower(): kind for kind in KINDS if kind != "Linear"}
ACTIVATIONS = frozenset(
    ("ReLU", "LeakyReLU", "GELU", "Sigmoid", "Tanh", "SiLU", "Softmax", "Identity")
)

_EXAMPLES = {
    "Linear": "Linear(784, 256) or Linear(in_features=784, out_features=256, bias=False)",
    "LeakyReLU": "LeakyReLU(0.2) or LeakyReLU(negative_slope=0.2)",
    "GELU": "GELU() or GELU(approximate='tanh')",
    "Softmax": "Softmax(dim=-1)",
    "Dropout": "Dropout(p=0.5)",
    "Flatten": "Flatten() or Flatten(start_dim=1, end_dim=-1)",
    "leakyrelu": "leakyrelu(0.2)",
    "gelu": "gelu or gelu(tanh)",
    "softmax": "softmax(-1)",
    "dropout": "dropout(0.5)",
    "flatten": "flatten or flatten(1, -1)",
}
SUPPORTED = (
    "linexplain explains Linear, ReLU, LeakyReLU, GELU, Sigmoid, Tanh, SiLU, Softmax, Identity, "
    "Dropout and Flatten, in an nn.Sequential"
)
COMPACT_HELP = (
    "write widths and layers in order, e.g. 784,256,relu,10; layers: relu, leakyrelu(0.2), gelu, "
    "gelu(tanh), sigmoid, tanh, silu, softmax(-1), identity, dropout(0.5), flatten"
)
TORCH_HELP = "write layers as PyTorch does, e.g. Linear(784, 256), ReLU(), Linear(256, 10)"

# torch.nn modules people write that linexplain does not explain: refused by name, no guess.
_UNSUPPORTED = frozenset(
    name.lower()
    for name in (
        "Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d ConvTranspose3d LazyLinear "
        "Bilinear LayerNorm RMSNorm GroupNorm BatchNorm1d BatchNorm2d BatchNorm3d "
        "InstanceNorm1d InstanceNorm2d LocalResponseNorm Embedding EmbeddingBag "
        "MultiheadAttention Transformer TransformerEncoder TransformerDecoder "
        "TransformerEncoderLayer TransformerDecoderLayer RNN LSTM GRU RNNCell LSTMCell GRUCell "
        "MaxPool1d MaxPool2d MaxPool3d AvgPool1d AvgPool2d AvgPool3d AdaptiveAvgPool1d "
        "AdaptiveAvgPool2d AdaptiveMaxPool2d Upsample PixelShuffle ZeroPad2d ConstantPad1d "
        "ReLU6 PReLU RReLU ELU SELU CELU GLU Mish Hardtanh Hardswish Hardsigmoid Hardshrink "
        "Softshrink Tanhshrink Softplus Softsign LogSigmoid LogSoftmax Softmin Softmax2d "
        "Threshold Dropout1d Dropout2d Dropout3d AlphaDropout FeatureAlphaDropout Unflatten "
        "ModuleList ModuleDict ParameterList ParameterDict CrossEntropyLoss MSELoss"
    ).split()
)
_CODE_NAMES = frozenset(
    "eval exec compile open input print getattr setattr delattr globals locals vars dir "
    "breakpoint exit quit help type object os sys subprocess builtins".split()
)


# ---------------------------------------------------------------------------------------------
# Tokens

_TOKEN = re.compile(  # spaces, then one token (none at the end or before a stray character)
    r"[ \t\r\n]*(?:"
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<number>(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]+)?"
    r"[A-Za-z0-9_.]*)"
    r"|(?P<string>'[^'\n]*'|\"[^\"\n]*\")"
    r"|(?P<punct>[(),=.:+-])"
    r")?"
)
_BAD_CHAR = re.compile(r"[^\t\n\r\x20-\x7e]")
_INNERMOST = re.compile(r"\([^()]*\)")
_INT = re.compile(r"0|[1-9][0-9]*")
_FLOAT = re.compile(r"(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?")
_CHAR_HINTS = {
    ";": "a spec is one list of layers separated by commas; it is never run as code",
    "[": "lists are not part of a spec; separate layers with commas",
    "]": "lists are not part of a spec; separate layers with commas",
    "{": "dicts and sets are not part of a spec",
    "}": "dicts and sets are not part of a spec",
    "#": "comments are not part of a spec; remove it",
    "*": "products are not part of a spec; write each width out, e.g. 784",
}
_STRING_PREFIXES = frozenset(("f", "r", "b", "u", "rb", "br", "fr", "rf"))


class _Tok(NamedTuple):
    kind: str  # name, number, string, punct, end
    text: str
    pos: int  # index in the text
    line: int  # 1-based
    end: int  # one past its last character

    def is_(self, punct: str) -> bool:
        return self.kind == "punct" and self.text == punct

    def shown(self) -> str:
        return "the end of the text" if self.kind == "end" else repr(_cut(self.text))


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show(text: str) -> str:
    """User text quoted for a message: one line, long text cut."""
    return repr(_cut(" ".join(text.split())))


class _Parser:
    """A lexer that reads a token at a time, and the recursive-descent parser on top."""

    def __init__(self, text: str, source: str) -> None:
        self.text, self.source = text, source
        self.multiline = "\n" in text.strip()
        self.pos, self.line = 0, 1
        self.buf: list[_Tok] = []
        self.last_end = 0  # where the last token taken ends
        self.layers = 0  # layers made so far: parsing stops past MAX_LAYERS

    def count_layer(self, pos: int) -> None:
        self.layers += 1
        if self.layers > MAX_LAYERS:
            self.fail(
                pos,
                f"the network has more than {MAX_LAYERS:,} layers (this is layer {self.layers:,})",
                f"a network has at most {MAX_LAYERS:,} layers",
            )

    # --- messages ---------------------------------------------------------------------------

    def loc(self, pos: int) -> str:
        if not self.multiline:
            return f"position {pos + 1}"
        line = self.text.count("\n", 0, pos) + 1
        column = pos - self.text.rfind("\n", 0, pos)
        return f"line {line}, column {column}"

    def fail(self, pos: int, what: str, hint: str, ctx: str = "") -> NoReturn:
        at = f" ({ctx})" if ctx else ""
        raise LinexplainError(f"{self.source} at {self.loc(pos)}{at}: {what}", hint)

    # --- tokens -----------------------------------------------------------------------------

    def peek(self, k: int = 0) -> _Tok:
        while len(self.buf) <= k:
            self.buf.append(self._scan())
        return self.buf[k]

    def take(self) -> _Tok:
        tok = self.peek()
        del self.buf[0]
        self.last_end = tok.end if tok.kind != "end" else self.last_end
        return tok

    def expect(self, punct: str, what: str, hint: str, ctx: str = "") -> _Tok:
        tok = self.peek()
        if not tok.is_(punct):
            self.fail(tok.pos, f"{what}, found {tok.shown()}", hint, ctx)
        return self.take()

    def _scan(self) -> _Tok:
        text = self.text
        m = _TOKEN.match(text, self.pos)
        assert m is not None  # every part of the pattern is optional
        kind = m.lastgroup
        start = m.start(kind) if kind else m.end()
        if start > self.pos:
            self.line += text.count("\n", self.pos, start)
        self.pos = start
        if kind is None:
            if start >= len(text):
                return _Tok("end", "", start, self.line, start)
            ch = text[start]
            if ch in "'\"":
                self.fail(
                    start,
                    f"the string opened by {ch} is not closed on its line",
                    f"close it with {ch}, e.g. {ch}tanh{ch}",
                )
            self.fail(
                start,
                f"{ch!r} cannot appear in a network spec",
                _CHAR_HINTS.get(
                    ch, "a spec has names, numbers, quoted strings and ( ) , = . : - +"
                ),
            )
        word = m.group(kind)
        if kind == "name":
            if len(word) > MAX_NAME_LEN:
                self.fail(
                    start,
                    f"a name of {len(word):,} characters",
                    f"names have at most {MAX_NAME_LEN} characters",
                )
            if m.end() < len(text) and text[m.end()] in "'\"" and word.lower() in _STRING_PREFIXES:
                self.fail(
                    start,
                    f"the string prefix {word} ({word}{text[m.end()]}...) is not allowed",
                    "a spec takes plain quoted strings only, e.g. 'tanh'; nothing in it is run",
                )
        elif kind == "number":
            digits = sum(ch.isdigit() for ch in word) if len(word) > MAX_DIGITS else 0
            if digits > MAX_DIGITS:
                self.fail(
                    start,
                    f"a number of {digits:,} digits",
                    f"numbers have at most {MAX_DIGITS} digits",
                )
        elif kind == "string":
            if len(word) - 2 > MAX_NAME_LEN:
                self.fail(
                    start,
                    f"a string of {len(word) - 2:,} characters",
                    f"strings have at most {MAX_NAME_LEN} characters, e.g. 'tanh'",
                )
            if "\\" in word:
                self.fail(
                    start + word.index("\\"),
                    "a backslash in a string",
                    "strings take no escapes: write the text plainly, e.g. 'tanh'",
                )
        self.pos = m.end()
        return _Tok(kind, word, start, self.line, m.end())

    def number(self, tok: _Tok, ctx: str) -> int | float:
        """The value of a number token: Python's decimal ints and floats, nothing else."""
        word = tok.text
        if _INT.fullmatch(word):
            return int(word)
        if word.isdigit():
            self.fail(tok.pos, f"{word} has a leading zero", f"write {int(word)}", ctx)
        if _FLOAT.fullmatch(word):
            value = float(word)
            if not math.isfinite(value):
                self.fail(tok.pos, f"{word} is too large for a float", "e.g. 1e-2 or 0.5", ctx)
            return value
        if "_" in word:
            hint = f"write numbers without underscores: {word.replace('_', '')}"
        elif word[:2].lower() in ("0x", "0o", "0b"):
            hint = "write numbers in decimal"
        else:
            hint = "write a decimal number, e.g. 784, 0.2 or 1e-2; separate items with commas"
        self.fail(tok.pos, f"{_cut(word)!r} is not a number", hint, ctx)

    def raw(self, start: int) -> str:
        """The text from start to the end of the last token taken, on one line."""
        return " ".join(self.text[start : self.last_end].split())

    def snippet(self, start: int) -> str:
        return repr(_cut(self.raw(start)))

    # --- arguments ----------------------------------------------------------------------------

    def args(self, opening: _Tok, compact: bool, ctx: str) -> list[tuple[_Tok | None, _Literal]]:
        """The arguments after ``(`` up to its ``)``: literal values, some with keywords."""
        out: list[tuple[_Tok | None, _Literal]] = []
        keywords = False
        while True:
            tok = self.peek()
            if tok.is_(")"):
                self.take()
                return out
            if tok.kind == "end":
                self.fail(opening.pos, "'(' is never closed", "close the arguments with ')'", ctx)
            if len(out) == MAX_ARGS:
                self.fail(
                    tok.pos,
                    f"more than {MAX_ARGS} arguments",
                    "each layer takes a few arguments, e.g. " + _EXAMPLES["Linear"],
                    ctx,
                )
            key = None
            if tok.kind == "name" and self.peek(1).is_("="):
                key = self.take()
                self.take()
                keywords = True
            elif keywords:
                self.fail(
                    tok.pos,
                    "a positional argument follows a keyword argument",
                    "put positional arguments first, as Python does: Linear(784, 256, bias=False)",
                    ctx,
                )
            out.append((key, self.value(compact, ctx)))
            tok = self.peek()
            if tok.is_(","):
                self.take()
            elif tok.kind == "end":
                self.fail(opening.pos, "'(' is never closed", "close the arguments with ')'", ctx)
            elif not tok.is_(")"):
                self.fail(
                    tok.pos,
                    f"{tok.shown()} follows an argument",
                    "separate arguments with commas and close them with ')'",
                    ctx,
                )

    def value(self, compact: bool, ctx: str) -> _Literal:
        literals = "a value is a number, True, False, None or a short quoted string"
        tok = self.take()
        if tok.is_("-") or tok.is_("+"):
            number = self.peek()
            if number.kind != "number":
                self.fail(tok.pos, f"{tok.text!r} is not followed by a number", literals, ctx)
            self.take()
            value = self.number(number, ctx)
            return _Literal(-value if tok.text == "-" else value, tok.text + number.text, tok.pos)
        if tok.kind == "number":
            return _Literal(self.number(tok, ctx), tok.text, tok.pos)
        if tok.kind == "string":
            return _Literal(tok.text[1:-1], tok.text, tok.pos)
        if tok.kind == "name":
            after = self.peek()
            if after.is_("(") or after.is_("."):
                self.fail(
                    tok.pos,
                    f"'{tok.text}{after.text}' in an argument is code, not a value",
                    literals + "; nothing in a spec is run",
                    ctx,
                )
            if tok.text.lower() in ("nan", "inf", "infinity"):
                self.fail(tok.pos, f"{tok.text} is not a finite number", "e.g. 0.01", ctx)
            literal = {"True": True, "False": False, "None": None}
            if tok.text in literal:
                return _Literal(literal[tok.text], tok.text, tok.pos)
            if compact:
                return _Literal(tok.text, tok.text, tok.pos, bare=True)
            self.fail(
                tok.pos,
                f"{tok.text} is a name, not a value",
                f"quote a string ('{tok.text}'); {literals}",
                ctx,
            )
        self.fail(tok.pos, f"expected a value, found {tok.shown()}", literals, ctx)

    def bind(
        self,
        kind: str,
        name: _Tok,
        args: list[tuple[_Tok | None, _Literal]],
        compact: bool,
        ctx: str,
    ) -> tuple[tuple[str, object], ...]:
        """The arguments given, checked against the kind's, in its order with defaults."""
        params = KINDS[kind]
        shown = kind.lower() if compact else kind
        names = [p.name for p in params]
        example = _EXAMPLES.get(shown, f"{shown}()" if not compact else shown)
        given: dict[str, _Literal] = {}
        positional = [v for k, v in args if k is None]
        if len(positional) > len(params):
            extra = positional[len(params)]
            if not params:
                what = f"{shown} takes no arguments"
            else:
                what = f"{shown} takes at most {len(params)} ({', '.join(names)})"
            hint = f"write {example}"
            if kind == "Linear":
                hint += "; device and dtype are not taken: linexplain has --dtype"
            self.fail(extra.pos, f"{what}, this is argument {len(params) + 1}", hint, ctx)
        given.update(zip(names, positional, strict=False))
        for key, v in args:
            if key is None:
                continue
            if key.text not in names:
                hint = f"{shown} takes " + (", ".join(names) if names else "no arguments")
                near = _nearest(key.text, names)
                if near:
                    hint = f"did you mean {near}? " + hint
                if kind == "Linear" and key.text in ("device", "dtype"):
                    hint = "linexplain has --dtype for the numbers; drop device= and dtype="
                self.fail(key.pos, f"{shown} has no argument {key.text!r}", hint, ctx)
            if key.text in given:
                self.fail(
                    key.pos, f"{shown} is given {key.text} twice", "give each argument once", ctx
                )
            given[key.text] = v
        out: list[tuple[str, object]] = []
        for p in params:
            if p.name in given:
                v = given[p.name]
                try:
                    value = p.check(v, f"{shown}'s {p.name}")
                except _Bad as bad:
                    self.fail(v.pos, bad.what, bad.hint, ctx)
            elif p.default is _REQUIRED:
                missing = [q.name for q in params if q.default is _REQUIRED and q.name not in given]
                self.fail(
                    name.pos, f"{shown} needs {' and '.join(missing)}", f"e.g. {example}", ctx
                )
            else:
                value = p.default
            if p.kept:
                out.append((p.name, value))
        return tuple(out)

    def unknown(self, name: _Tok, compact: bool, ctx: str) -> NoReturn:
        """Refuse a name that is not a layer, saying what it is and what would do."""
        word, low = name.text, name.text.lower()
        if compact and low in ("linear", "sequential"):
            self.fail(
                name.pos,
                f"{word} in a compact spec",
                "a Linear is its output width: 784,256,10 (256:nobias without bias); "
                "or write the whole network as PyTorch's text",
                ctx,
            )
        if compact and low in COMPACT_NAMES:
            self.fail(
                name.pos, f"{word} is PyTorch's spelling in a compact spec", f"write {low}", ctx
            )
        if not compact and word in COMPACT_NAMES:
            self.fail(
                name.pos,
                f"{word} is the compact spelling in PyTorch's text",
                f"write {COMPACT_NAMES[word]}()",
                ctx,
            )
        if low in _UNSUPPORTED:
            self.fail(name.pos, f"{word} is not supported", SUPPORTED, ctx)
        if keyword.iskeyword(word) or word.startswith("_") or word in _CODE_NAMES:
            self.fail(
                name.pos,
                f"{word!r} is not a layer (a spec is text, never run as Python)",
                COMPACT_HELP if compact else SUPPORTED,
                ctx,
            )
        choices = list(COMPACT_NAMES) if compact else [*KINDS, "Sequential"]
        near = _nearest(word, choices)
        hint = COMPACT_HELP if compact else SUPPORTED
        if near:
            hint = f"did you mean {near}? " + hint
        self.fail(name.pos, f"{word!r} is not a layer linexplain knows", hint, ctx)

    # --- the compact form ---------------------------------------------------------------------

    def compact_item(self, index: int) -> tuple[_Tok, int | None, bool, LayerSpec | None]:
        """One item: a width (its token, value, bias) or a layer."""
        ctx = f"item {index}"
        tok = self.peek()
        if tok.is_("-") or tok.is_("+"):
            self.take()
            number = self.peek()
            if number.kind == "number":
                if tok.text == "-":
                    self.fail(
                        tok.pos, f"width -{number.text} is negative", "widths are 0 or more", ctx
                    )
                self.fail(tok.pos, f"width +{number.text} has a sign", f"write {number.text}", ctx)
            self.fail(tok.pos, f"item {index} starts with {tok.text!r}", COMPACT_HELP)
        if tok.kind == "number":
            self.take()
            value = self.number(tok, ctx)
            if not isinstance(value, int):
                self.fail(tok.pos, f"width {tok.text} is not a whole number", "e.g. 256", ctx)
            if value > MAX_SIZE:
                self.fail(
                    tok.pos,
                    f"width {tok.text} is larger than torch's largest size 2**63-1",
                    "give a width from 0 to 2**63-1",
                    ctx,
                )
            bias = True
            if self.peek().is_(":"):
                self.take()
                marker = self.peek()
                if marker.kind != "name" or marker.text != "nobias":
                    self.fail(
                        marker.pos,
                        f"{marker.shown()} after ':' is not a marker",
                        "the one marker is :nobias, a Linear without bias: 784,256:nobias,10",
                        ctx,
                    )
                self.take()
                bias = False
            return tok, value, bias, None
        if tok.kind != "name":
            hint = COMPACT_HELP
            if tok.kind == "string":
                hint = f"names are not quoted: {COMPACT_HELP}"
            elif tok.is_("("):
                hint = "paste print(model)'s whole text, from its Sequential( line; or " + hint
            self.fail(tok.pos, f"item {index} starts with {tok.shown()}", hint)
        self.take()
        after = self.peek()
        if after.is_("."):
            if tok.text in ("nn", "torch"):
                self.fail(
                    tok.pos,
                    f"{tok.text}.{self.peek(1).text} is PyTorch's text in a compact spec",
                    "write the compact name (relu, dropout(0.5)), or every layer as PyTorch's text",
                    ctx,
                )
            self.fail(
                tok.pos,
                f"{tok.text}.{self.peek(1).text} is attribute access, not a layer",
                "a spec is text, never run as Python; " + COMPACT_HELP,
                ctx,
            )
        if after.is_("="):
            self.fail(
                tok.pos,
                f"'{tok.text} =' is an assignment",
                "give only the network, e.g. 784,256,relu,10",
                ctx,
            )
        kind = COMPACT_NAMES.get(tok.text)
        if kind is None:
            self.unknown(tok, compact=True, ctx=ctx)
        args: list[tuple[_Tok | None, _Literal]] = []
        if after.is_("("):
            args = self.args(self.take(), compact=True, ctx=ctx)
        spec_args = self.bind(kind, tok, args, compact=True, ctx=ctx)
        self.count_layer(tok.pos)
        return tok, None, True, LayerSpec(kind, spec_args, f"item {index} {self.snippet(tok.pos)}")

    def compact(self, act: tuple[str, tuple[tuple[str, object], ...]] | None) -> list[LayerSpec]:
        layers: list[LayerSpec] = []
        width: int | None = None  # the width reaching the next layer, once the first is given
        first: tuple[_Tok, int] | None = None  # the first width's token and item
        last_linear = -1  # index in layers of the last Linear, -1 for none
        activated = False  # an activation since the last Linear
        blocking: tuple[_Tok, int] | None = None  # a flatten that loses the width
        index, comma = 0, None
        while True:
            index += 1
            tok = self.peek()
            if tok.kind == "end" or tok.is_(","):
                at = tok.pos if comma is None else comma.pos
                trailing = tok.kind == "end"
                self.fail(
                    at,
                    f"item {index} is empty" + (": the spec ends with a comma" if trailing else ""),
                    "remove the trailing comma"
                    if trailing
                    else "write a width or a layer between commas",
                )
            start = tok.pos
            tok, value, bias, layer = self.compact_item(index)
            where = f"item {index} {self.snippet(start)}"
            if layer is not None:
                if layer.kind in ACTIVATIONS:
                    activated = True
                end_dim = layer.get("end_dim") if layer.kind == "Flatten" else -2
                if width is not None and isinstance(end_dim, int) and end_dim > -2:
                    blocking = (tok, index)  # it may change the last dim: the width is lost
                layers.append(layer)
            elif width is None:
                if not bias:
                    self.fail(
                        tok.pos,
                        f"{tok.text}:nobias is the first width, the input's features, not a Linear",
                        "put :nobias on a later width, e.g. 784,256:nobias,10",
                        f"item {index}",
                    )
                assert value is not None
                width, first = value, (tok, index)
            else:
                assert value is not None
                if blocking is not None:
                    flat, at_item = blocking
                    self.fail(
                        flat.pos,
                        f"{self.text[flat.pos : flat.end]} between widths: the width after it "
                        "is not known",
                        "put flatten before the first width (flatten,12,5), or write the network "
                        "as PyTorch's text, where each Linear says its in_features",
                        f"item {at_item}",
                    )
                if act is not None and last_linear >= 0 and not activated:
                    kind, act_args = act
                    before = layers[last_linear]
                    where_act = f"--act {act_text(kind, act_args)} after {before.where}"
                    layers.insert(last_linear + 1, LayerSpec(kind, act_args, where_act))
                    self.count_layer(tok.pos)
                args = (("in_features", width), ("out_features", value), ("bias", bias))
                layers.append(LayerSpec("Linear", args, where))
                self.count_layer(tok.pos)
                width, last_linear, activated = value, len(layers) - 1, False
            tok = self.peek()
            if tok.kind == "end":
                break
            if tok.is_(")"):
                self.fail(tok.pos, "')' closes nothing", "remove it, or open it with '('")
            if not tok.is_(","):
                hint = "separate items with commas, e.g. 784,256,relu,10"
                if tok.is_("."):
                    hint = "a spec is text, never run as Python; " + hint
                self.fail(tok.pos, f"{tok.shown()} follows {where}", hint)
            comma = self.take()
        if first is not None and last_linear < 0:
            tok, at_item = first
            self.fail(
                tok.pos,
                f"{tok.text} is the input's features, but no Linear follows it",
                f"add the output width, e.g. {tok.text},10; a network without Linear layers is "
                "written without widths, e.g. relu",
                f"item {at_item}",
            )
        return layers

    # --- PyTorch's text -----------------------------------------------------------------------

    def dotted_name(self, ctx: str) -> _Tok:
        """A name, after an optional ``nn.`` or ``torch.nn.``; other attributes are refused."""
        parts = [self.peek()]
        while (
            parts[-1].kind == "name" and self.peek(2 * len(parts) - 1).is_(".") and len(parts) < 4
        ):
            parts.append(self.peek(2 * len(parts)))
        words = [t.text if t.kind == "name" else "?" for t in parts]
        if words[:-1] not in ([], ["nn"], ["torch", "nn"]) or parts[-1].kind != "name":
            start = parts[0]
            if start.kind != "name":
                self.fail(start.pos, f"expected a layer, found {start.shown()}", TORCH_HELP, ctx)
            dotted = ".".join(words)
            self.fail(
                start.pos,
                f"{dotted} is attribute access, not a layer",
                "only the prefixes nn. and torch.nn. are allowed, e.g. nn.ReLU(); a spec is "
                "text, never run as Python",
                ctx,
            )
        for _ in range(2 * len(parts) - 2):
            self.take()
        return self.take()

    def module(self, path: list[str], depth: int, label: _Tok | None) -> list[LayerSpec]:
        """One module: a layer, or a Sequential whose children it gives back in order."""
        dotted = ".".join(path)
        ctx = "" if not path else f"layer ({dotted})" if label is not None else f"item {dotted}"
        start = self.peek()
        if start.kind == "number":
            self.fail(
                start.pos,
                f"{start.text} is a compact width in PyTorch's text",
                "write each layer as PyTorch does, e.g. Linear(256, 10); or write the whole "
                "network compactly, e.g. 784,256,10",
                ctx,
            )
        name = self.dotted_name(ctx)
        if self.peek().is_("=") and start is name:
            self.fail(
                name.pos,
                f"'{name.text} =' is an assignment",
                "give only the network, the text after '='",
                ctx,
            )
        if name.text == "Sequential":
            if depth >= MAX_DEPTH:
                self.fail(
                    name.pos,
                    f"Sequentials nested more than {MAX_DEPTH} deep",
                    "put the layers in one Sequential",
                    ctx,
                )
            opening = self.expect("(", "Sequential needs '('", "write Sequential(...)", ctx)
            return self.sequence(opening, path, depth + 1)
        if name.text not in KINDS:
            self.unknown(name, compact=False, ctx=ctx)
        opening = self.peek()
        if not opening.is_("("):
            self.fail(
                name.pos,
                f"{name.text} has no brackets",
                f"write {name.text}(): Sequential takes layers, not classes",
                ctx,
            )
        args = self.args(self.take(), compact=False, ctx=ctx)
        spec_args = self.bind(name.text, name, args, compact=False, ctx=ctx)
        self.count_layer(start.pos)
        if label is not None:
            where = f"line {label.line}, ({dotted}): {_cut(self.raw(start.pos), 60)}"
        else:
            where = f"item {dotted} {self.snippet(start.pos)}"
        return [LayerSpec(name.text, spec_args, where)]

    def sequence(self, opening: _Tok, path: list[str], depth: int) -> list[LayerSpec]:
        """A Sequential's children after its ``(``: print(model)'s lines, or comma-separated."""
        never_closed = ("Sequential's '(' is never closed", "close it with ')'")
        layers: list[LayerSpec] = []
        if self.peek().is_("("):  # print(model): (0): Linear(...) on each line
            labels: set[str] = set()
            count = 0
            while self.peek().is_("("):
                self.take()
                label = self.take()
                if label.kind == "number":
                    if label.text != str(count):
                        self.fail(
                            label.pos,
                            f"the label ({label.text}) should be ({count})",
                            "print(model) numbers the layers 0, 1, 2, ...: paste its text as it is",
                        )
                elif label.kind != "name":
                    self.fail(
                        label.pos,
                        f"expected a label such as (0) or (fc1), found {label.shown()}",
                        "print(model) starts each line with (N): or (name):",
                    )
                if label.text in labels:
                    self.fail(
                        label.pos,
                        f"the label ({label.text}) is used twice",
                        "each child of a Sequential has its own name",
                    )
                labels.add(label.text)
                ctx = f"layer ({'.'.join([*path, label.text])})"
                self.expect(")", "expected ')' after the label", "write (N): Layer(...)", ctx)
                self.expect(":", "expected ':' after the label", "write (N): Layer(...)", ctx)
                layers += self.module([*path, label.text], depth, label)
                count += 1
            tok = self.peek()
            if tok.kind == "end":
                self.fail(opening.pos, *never_closed)
            if not tok.is_(")"):
                self.fail(
                    tok.pos,
                    f"{tok.shown()} follows a layer of print(model)'s text",
                    "print(model) puts one (N): Layer(...) on each line, no commas, and ends "
                    "with ')'",
                )
            self.take()
            return layers
        index = 0
        while True:
            tok = self.peek()
            if tok.is_(")"):
                self.take()
                return layers
            index += 1
            if tok.kind == "end":
                self.fail(opening.pos, *never_closed)
            if tok.is_(","):
                self.fail(
                    tok.pos, f"item {index} of the Sequential is empty", "remove the extra comma"
                )
            layers += self.module([*path, str(index)], depth, None)
            tok = self.peek()
            if tok.is_(","):
                self.take()
            elif tok.kind == "end":
                self.fail(opening.pos, *never_closed)
            elif not tok.is_(")"):
                self.fail(tok.pos, f"{tok.shown()} follows a layer", "separate layers with commas")

    def torch(self) -> list[LayerSpec]:
        first = self.peek()
        starts_sequential = False
        if first.kind == "name":
            words = [first.text]
            k = 1
            while self.peek(k).is_(".") and self.peek(k + 1).kind == "name" and k < 6:
                words.append(self.peek(k + 1).text)
                k += 2
            starts_sequential = words[-1] == "Sequential" and words[:-1] in (
                [],
                ["nn"],
                ["torch", "nn"],
            )
        if starts_sequential:  # the whole spec is one Sequential: its children are the items
            layers = self.module([], 0, None)
            tok = self.peek()
            if tok.is_(")"):
                self.fail(tok.pos, "')' closes nothing", "remove it, or open it with '('")
            if tok.kind != "end":
                self.fail(
                    tok.pos,
                    f"{tok.shown()} follows the Sequential",
                    "put every layer inside the one Sequential(...)",
                )
            return layers
        layers = []
        index, comma = 0, None
        while True:
            index += 1
            tok = self.peek()
            if tok.kind == "end" or tok.is_(","):
                trailing = tok.kind == "end"
                self.fail(
                    tok.pos if comma is None else comma.pos,
                    f"item {index} is empty" + (": the spec ends with a comma" if trailing else ""),
                    "remove the trailing comma" if trailing else TORCH_HELP,
                )
            layers += self.module([str(index)], 1, None)
            tok = self.peek()
            if tok.kind == "end":
                return layers
            if tok.is_(")"):
                self.fail(tok.pos, "')' closes nothing", "remove it, or open it with '('")
            if not tok.is_(","):
                hint = "separate layers with commas: " + TORCH_HELP
                if tok.is_("."):
                    hint = "method calls are not part of a spec; " + hint
                self.fail(tok.pos, f"{tok.shown()} follows item {index}", hint)
            comma = self.take()


def _nearest(word: str, choices: list[str]) -> str | None:
    """The choice closest to a misspelt word (case ignored), if one is close."""
    import difflib  # only on the error path

    lowered = {c.lower(): c for c in choices}
    near = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.75)
    return lowered[near[0]] if near else None


def _check_text(text: object, source: str) -> str:
    """The bounds that hold before any tokenizing: text, length, characters, item count."""
    if not isinstance(text, str):
        raise LinexplainError(
            f"{source} must be text, got {type(text).__name__}", "e.g. '784,256,relu,10'"
        )
    if len(text) > MAX_TEXT:
        raise LinexplainError(
            f"{source} is {len(text):,} characters long",
            f"a network spec has at most {MAX_TEXT:,} characters",
        )
    bad = _BAD_CHAR.search(text)
    if bad:
        parser = _Parser(text, source)
        ch = bad.group()
        what = "is a control character" if ch.isascii() else f"(U+{ord(ch):04X}) is not ASCII"
        parser.fail(
            bad.start(),
            f"{ch!r} {what}",
            "a spec is plain ASCII: names, numbers, quoted strings and ( ) , = . : - +",
        )
    if not text.strip():
        raise LinexplainError(f"{source} is empty", COMPACT_HELP + "; or " + TORCH_HELP)
    reduced = _INNERMOST.sub("", text)  # arguments and (N) labels gone: the separators left
    items = max(reduced.count(",") + 1, reduced.count(":"))
    if items > MAX_ITEMS:
        raise LinexplainError(
            f"{source} has {items:,} items (counted by its commas and '(N):' labels)",
            f"a network has at most {MAX_LAYERS:,} layers",
        )
    return text


def act_text(kind: str, args: tuple[tuple[str, object], ...]) -> str:
    """A layer without parameters as the compact form writes it: relu, leakyrelu(0.2)."""
    values = dict(args)
    kept = [p for p in KINDS[kind] if p.kept]
    if all(values.get(p.name, p.default) == p.default for p in kept):
        return kind.lower()
    shown = ", ".join(_compact_value(values.get(p.name, p.default)) for p in kept)
    return f"{kind.lower()}({shown})"


def _compact_value(value: object) -> str:
    return value if isinstance(value, str) else repr(value)


def _parse_act(act: object) -> tuple[str, tuple[tuple[str, object], ...]]:
    text = _check_text(act, "--act")
    parser = _Parser(text, "--act")
    tok, _, _, layer = parser.compact_item(1)
    if layer is None:
        parser.fail(
            tok.pos,
            f"{tok.text} is a width, not an activation",
            "--act takes an activation: relu, leakyrelu(0.2), gelu, gelu(tanh), sigmoid, tanh, "
            "silu, softmax(-1), identity",
        )
    if layer.kind not in ACTIVATIONS:
        parser.fail(
            tok.pos,
            f"{tok.text} is not an activation",
            "--act takes relu, leakyrelu(0.2), gelu, gelu(tanh), sigmoid, tanh, silu, "
            f"softmax(-1) or identity; write {tok.text} in the spec itself",
        )
    after = parser.peek()
    if after.kind != "end":
        parser.fail(
            after.pos,
            f"{after.shown()} follows the activation",
            "--act takes one activation, e.g. --act relu; write others in the spec itself",
        )
    return layer.kind, layer.args


def parse_net(text: str, act: str | None = None, *, source: str = "--net") -> tuple[LayerSpec, ...]:
    """Parse a network spec, compact (``784,256,relu,10``) or PyTorch's text, into layers.

    ``act`` (``--act``, compact form only) is an activation put after each Linear followed by
    another Linear with none written between them. ``source`` names the text in messages
    (``--net``, ``--net-file net.txt``). Raises :class:`LinexplainError` for anything else; see
    the module's docstring for the grammar and the limits.
    """
    text = _check_text(text, source)
    activation = None if act is None else _parse_act(act)
    parser = _Parser(text, source)
    first = parser.peek()
    if first.kind == "name" and (first.text[:1].isupper() or first.text in ("nn", "torch")):
        if activation is not None:
            raise LinexplainError(
                f"--act {act_text(*activation)} is for the compact form, and {source} is "
                "PyTorch's text",
                "write the activations between the layers, e.g. Linear(784, 256), ReLU(), "
                "Linear(256, 10); or drop --act",
            )
        layers = parser.torch()
    else:
        layers = parser.compact(activation)
    if not layers:
        raise LinexplainError(
            f"{source}: the network has no layers", "e.g. Sequential(Linear(784, 10))"
        )
    if len(layers) > MAX_LAYERS:
        raise LinexplainError(
            f"{source} has {len(layers):,} layers", f"a network has at most {MAX_LAYERS:,} layers"
        )
    return tuple(layers)


# ---------------------------------------------------------------------------------------------
# Writing layers back as text


def format_torch(layer: LayerSpec) -> str:
    """A layer as PyTorch prints it: ``Linear(in_features=784, out_features=256, bias=True)``."""
    if layer.kind not in KINDS:
        raise LinexplainError(f"unknown layer kind {layer.kind!r}", SUPPORTED)
    args = ", ".join(f"{k}={v!r}" for k, v in layer.args)
    if layer.kind == "Dropout":
        args += ", inplace=False"
    return f"{layer.kind}({args})"


def format_sequential(layers: tuple[LayerSpec, ...] | list[LayerSpec]) -> str:
    """The network as ``print(model)`` shows an ``nn.Sequential``."""
    lines = [f"  ({i}): {format_torch(layer)}" for i, layer in enumerate(layers)]
    return "Sequential(\n" + "".join(line + "\n" for line in lines) + ")"


def format_compact(layers: tuple[LayerSpec, ...] | list[LayerSpec]) -> str:
    """The network in the compact form, when it has one.

    Its Linear layers must chain (each in_features the out_features before it), and a Flatten
    after the first Linear must keep the last dim (end_dim <= -2) when a Linear follows it.
    Raises :class:`LinexplainError` for a network the compact form cannot write.
    """
    items: list[str] = []
    width: object = None
    blocking: LayerSpec | None = None
    for layer in layers:
        if layer.kind not in KINDS:
            raise LinexplainError(f"unknown layer kind {layer.kind!r}", SUPPORTED)
        if layer.kind != "Linear":
            items.append(act_text(layer.kind, layer.args))
            end_dim = layer.get("end_dim") if layer.kind == "Flatten" else -2
            if width is not None and isinstance(end_dim, int) and end_dim > -2:
                blocking = layer
            continue
        in_features, out_features = layer.get("in_features"), layer.get("out_features")
        if width is None:
            items.append(str(in_features))
        elif blocking is not None:
            raise LinexplainError(
                f"{blocking.where}: {format_torch(blocking)} between Linear layers",
                "the compact form has no width after it; write the network as PyTorch's text",
            )
        elif in_features != width:
            raise LinexplainError(
                f"{layer.where}: in_features {in_features} does not follow the width {width}",
                "the compact form chains widths; write the network as PyTorch's text",
            )
        items.append(f"{out_features}" if layer.get("bias") else f"{out_features}:nobias")
        width = out_features
    return ",".join(items)
