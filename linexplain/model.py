"""Which tensors of a checkpoint are Linear layers, which way round each is stored, and why.

From the header alone (:mod:`linexplain.tensors`), every tensor gets one role:

- **a Linear-like layer**: a 2-D float ``X.weight`` (with ``X.bias`` when it is 1-D and fits).
  ``nn.Linear`` stores its weight out × in; transformers' ``Conv1D`` (GPT-2's ``c_attn``,
  ``c_fc``, ``c_proj``) stores it in × out and computes x·W + b. How the kind is decided, first
  rule that settles it:

  1. ``--conv1d PATTERN`` / ``--linear PATTERN`` (fnmatch globs on the layer's name);
  2. the bias: its length is the weight's rows (``linear``) or its columns (``conv1d``), unless
     the weight is square;
  3. the model type, from the checkpoint's ``__metadata__`` or the ``config.json`` beside it:
     GPT-2's family uses Conv1D for ``c_attn``/``c_fc``/``c_proj``/``q_attn`` and nn.Linear
     for the rest; any other model type uses nn.Linear;
  4. the file itself: a layer of the same name elsewhere in the file decided by its bias
     (GPT-2's square ``attn.c_proj`` follows ``mlp.c_proj``); for a layer with a bias, all the
     file's layers decided by their bias agreeing on one kind;
  5. the name: ``c_attn``, ``c_fc``, ``c_proj``, ``q_attn`` are transformers' Conv1D names;
     ``lm_head``, ``embed_out``, ``output`` are output heads, nn.Linear;
  6. otherwise nn.Linear's out × in is assumed, and the row says so.

- **an embedding**: a bias-less 2-D weight named like one (``wte``, ``wpe``, ``embed_tokens``,
  ``word_embeddings``, …); **a norm**: a 1-D weight (and its 1-D bias); **a buffer**: GPT-2's
  causal mask saved as ``attn.bias`` (2-D or more), ``masked_bias``, ``inv_freq``,
  ``position_ids``, BatchNorm's running statistics, or any tensor of a non-float dtype;
  **other**: anything else (a 4-D conv weight, a bare parameter), counted as parameters.

Tied weights (one storage under two names) are counted once, from: ``__metadata__`` naming a
tensor left out of the file and the tensor it is (``safetensors.torch.save_model`` writes
that); a config.json whose ``tie_word_embeddings`` is true (transformers' default) for a model
with an LM head (its ``architectures``, or GPT-2's model type) — the head's weight is the input
embedding's, whether the file stores it twice or (as ``save_pretrained`` does) leaves it out;
and, in an .npz, a Linear weight whose zip CRC-32 and size equal an embedding's (the same bytes
saved twice).
"""

from __future__ import annotations

import fnmatch
from typing import NamedTuple

from .errors import LinexplainError
from .tensors import FLOAT_DTYPES, Checkpoint, TensorInfo

# Model types whose transformers modules use Conv1D, and the names of those modules.
CONV1D_MODELS: dict[str, frozenset[str]] = {
    "gpt2": frozenset({"c_attn", "c_proj", "c_fc", "q_attn"}),
    "openai-gpt": frozenset({"c_attn", "c_proj", "c_fc"}),
    "imagegpt": frozenset({"c_attn", "c_proj", "c_fc", "q_attn"}),
    "decision_transformer": frozenset({"c_attn", "c_proj", "c_fc", "q_attn"}),
}
CONV1D_NAMES = frozenset({"c_attn", "c_proj", "c_fc", "q_attn"})
EMBEDDING_NAMES = frozenset(
    {
        "wte", "wpe", "embed_tokens", "embed_positions", "word_embeddings",
        "position_embeddings", "token_type_embeddings", "tok_embeddings", "embed_in",
        "embedding", "embeddings", "embed", "shared", "tok_emb", "pos_emb",
        "relative_attention_bias",
    }
)  # fmt: skip
WORD_EMBEDDINGS = ("wte", "embed_tokens", "word_embeddings", "tok_embeddings", "embed_in",
                   "shared", "tok_emb")  # fmt: skip
HEAD_NAMES = ("lm_head", "embed_out", "output")
LM_ARCHITECTURES = ("LMHeadModel", "ForCausalLM", "ForConditionalGeneration", "ForMaskedLM")
BUFFER_LEAVES = frozenset(
    {"masked_bias", "inv_freq", "position_ids", "running_mean", "running_var",
     "num_batches_tracked", "_float_tensor", "token_type_ids"}
)  # fmt: skip


class LinearLayer(NamedTuple):
    """One Linear-like layer: ``kind`` ``linear`` (weight out × in) or ``conv1d`` (in × out).

    ``source`` names the rule that decided the kind (``option``, ``bias``, ``config``,
    ``metadata``, ``file``, ``name``, ``text``, ``default``, ``tied``); ``how`` says it in a few
    words, ``why`` in a sentence. ``in_file`` is False for a tied weight the file leaves out;
    ``tied_to`` names the tensor whose storage it shares.
    """

    name: str
    kind: str
    in_features: int
    out_features: int
    bias: bool
    dtype: str
    stored: tuple[int, int]
    source: str
    how: str
    why: str
    nbytes: int
    weight_name: str
    bias_name: str | None = None
    tied_to: str | None = None
    in_file: bool = True

    @property
    def params(self) -> int:
        return self.in_features * self.out_features + (self.out_features if self.bias else 0)


class Tensor(NamedTuple):
    """A tensor that is not a Linear layer: ``role`` embedding, norm, buffer or other."""

    name: str
    role: str
    shape: tuple[int, ...]
    dtype: str
    nbytes: int
    why: str
    tied_to: str | None = None
    in_file: bool = True

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


class Tie(NamedTuple):
    """``name`` is ``to``'s storage (``source`` says how that is known)."""

    name: str
    to: str
    source: str


class Model(NamedTuple):
    """A checkpoint's tensors sorted into Linear layers and the rest."""

    checkpoint: Checkpoint
    layers: tuple[LinearLayer, ...]
    tensors: tuple[Tensor, ...]
    ties: tuple[Tie, ...]
    model_type: str | None = None
    model_type_source: str | None = None
    notes: tuple[str, ...] = ()

    def role(self, role: str) -> tuple[Tensor, ...]:
        return tuple(t for t in self.tensors if t.role == role)

    @property
    def model_params(self) -> int:
        """Every parameter once (as ``model.parameters()`` counts): Linear layers, embeddings,
        norms and other tensors, buffers left out, a tied weight counted once."""
        seen: set[str] = set()
        total = 0
        tied = {t.name for t in self.ties}
        for layer in self.layers:
            if layer.weight_name not in tied:
                total += layer.in_features * layer.out_features
                seen.add(layer.weight_name)
            if layer.bias:
                total += layer.out_features
        for tensor in self.tensors:
            if tensor.role != "buffer" and tensor.name not in tied:
                total += tensor.numel
        return total


class ModelQuery(NamedTuple):
    """What ``linexplain model`` was asked: the checkpoint read, the kind overrides (fnmatch
    globs) and the layers picked (globs; empty: all)."""

    checkpoint: Checkpoint
    conv1d: tuple[str, ...] = ()
    linear: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()

    def model(self) -> Model:
        return classify(self.checkpoint, self.conv1d, self.linear)

    def picked(self, model: Model) -> tuple[LinearLayer, ...]:
        return pick(model, self.layers)


def _leaf(module: str) -> str:
    return module.rsplit(".", 1)[-1]


def _module(name: str) -> str:
    return name[: -len(".weight")] if name.endswith(".weight") else ""


def _matches(patterns: tuple[str, ...], module: str) -> str | None:
    """The first pattern matching a layer's name (with or without ``.weight``)."""
    for pattern in patterns:
        if fnmatch.fnmatchcase(module, pattern) or fnmatch.fnmatchcase(module + ".weight", pattern):
            return pattern
    return None


def _model_type(checkpoint: Checkpoint) -> tuple[str | None, str | None]:
    meta = checkpoint.metadata.get("model_type")
    if meta:
        return meta, "__metadata__"
    config = checkpoint.config or {}
    value = config.get("model_type")
    if isinstance(value, str) and value:
        return value, "config.json"
    return None, None


def _config_ties(checkpoint: Checkpoint, model_type: str | None) -> tuple[bool, str]:
    """Whether the config says the LM head is the input embedding, and in which words."""
    config = checkpoint.config
    meta = checkpoint.metadata.get("tie_word_embeddings")
    if meta is not None:
        return meta.lower() == "true", "__metadata__ tie_word_embeddings"
    if config is None:
        return False, ""
    tie = config.get("tie_word_embeddings", True)  # transformers' default
    said = "config.json tie_word_embeddings"
    if "tie_word_embeddings" not in config:
        said += " (absent: transformers' default, true)"
    architectures = config.get("architectures")
    has_head = (
        any(isinstance(a, str) and a.endswith(LM_ARCHITECTURES) for a in architectures)
        if isinstance(architectures, list) and architectures
        else model_type in CONV1D_MODELS
    )
    return tie is True and has_head, said


def classify(
    checkpoint: Checkpoint, conv1d: tuple[str, ...] = (), linear: tuple[str, ...] = ()
) -> Model:
    """Sort the checkpoint's tensors; ``conv1d``/``linear`` globs force a weight's kind."""
    both = [p for p in conv1d if p in linear]
    if both:
        raise LinexplainError(
            f"--conv1d and --linear both name {both[0]!r}", "give each pattern to one of them"
        )
    tensors = checkpoint.by_name()
    model_type, type_source = _model_type(checkpoint)
    notes: list[str] = list(checkpoint.notes)
    used: set[str] = set()
    candidates: list[tuple[TensorInfo, TensorInfo | None]] = []
    others: list[Tensor] = []

    def forced(module: str) -> str | None:
        if _matches(conv1d, module):
            return "conv1d"
        if _matches(linear, module):
            return "linear"
        return None

    # Linear candidates first: 2-D float weights, each with its bias when that fits.
    for t in checkpoint.tensors:
        module = _module(t.name)
        if not (module or t.name == "weight") or len(t.shape) != 2 or t.dtype not in FLOAT_DTYPES:
            continue
        bias = tensors.get(f"{module}.bias" if module else "bias")
        if bias is not None and not (len(bias.shape) == 1 and bias.shape[0] in t.shape):
            bias = None
        if bias is None and _is_embedding(module) and forced(module) is None:
            others.append(_tensor(t, "embedding", f"a bias-less 2-D weight named {_leaf(module)}"))
            used.add(t.name)
            continue
        candidates.append((t, bias))
        used.add(t.name)
        if bias is not None:
            used.add(bias.name)

    # What the biases settle, for rule 4.
    by_bias: dict[str, str] = {}
    for t, bias in candidates:
        rows, cols = t.shape
        if bias is not None and rows != cols:
            by_bias[_module(t.name)] = "linear" if bias.shape[0] == rows else "conv1d"
    by_leaf: dict[str, set[str]] = {}
    for module, kind in by_bias.items():
        by_leaf.setdefault(_leaf(module), set()).add(kind)
    biased_kinds = set(by_bias.values())

    layers: list[LinearLayer] = []
    for t, bias in candidates:
        module = _module(t.name) or "(weight)"
        kind, source, how, why = _decide(
            module, t, bias, forced(module), conv1d, linear, by_bias, by_leaf, biased_kinds,
            model_type, type_source, checkpoint.format,
        )  # fmt: skip
        rows, cols = t.shape
        in_, out = (cols, rows) if kind == "linear" else (rows, cols)
        if bias is not None and bias.shape[0] != out:
            option = "--linear" if kind == "linear" else "--conv1d"
            raise LinexplainError(
                f"{option} makes {module} {in_} → {out}, but its bias has {bias.shape[0]} numbers",
                f"its bias length says {'conv1d' if kind == 'linear' else 'linear'}: "
                f"drop the pattern from {option}",
            )
        layers.append(
            LinearLayer(
                module, kind, in_, out, bias is not None, t.torch_dtype, (rows, cols), source,
                how, why, t.nbytes + (bias.nbytes if bias is not None else 0), t.name,
                bias.name if bias is not None else None,
            )
        )  # fmt: skip
    for patterns, option in ((conv1d, "--conv1d"), (linear, "--linear")):
        for pattern in patterns:
            if not any(_matches((pattern,), layer.name) for layer in layers):
                raise LinexplainError(
                    f"{option} {pattern!r} matches no 2-D weight of {checkpoint.path}",
                    "patterns are fnmatch globs on layer names, e.g. '*.c_proj' or "
                    "'transformer.h.*.attn.c_proj'",
                )

    # Everything else: norms, buffers, orphan biases, other tensors.
    for t in checkpoint.tensors:
        if t.name in used:
            continue
        others.append(_other(t, tensors))

    model = Model(checkpoint, tuple(layers), tuple(others), (), model_type, type_source)
    return _tie(model, notes)


def _is_embedding(module: str) -> bool:
    leaf = _leaf(module)
    return leaf in EMBEDDING_NAMES or leaf.endswith(("_embeddings", "_embedding", "_embed"))


def _tensor(t: TensorInfo, role: str, why: str) -> Tensor:
    return Tensor(t.name, role, t.shape, t.torch_dtype, t.nbytes, why)


def _other(t: TensorInfo, tensors: dict[str, TensorInfo]) -> Tensor:
    leaf = t.name.rsplit(".", 1)[-1]
    module = t.name.rsplit(".", 1)[0] if "." in t.name else ""
    if t.dtype not in FLOAT_DTYPES and leaf == "weight":
        return _tensor(t, "other", f"a {t.torch_dtype} weight (quantized?): not read as a Linear's")
    if t.dtype not in FLOAT_DTYPES:
        return _tensor(t, "buffer", f"{t.torch_dtype}: not a float parameter (a mask or index)")
    if leaf in BUFFER_LEAVES:
        return _tensor(t, "buffer", f"{leaf}: a buffer, not a parameter")
    if leaf == "bias" and len(t.shape) >= 2:
        return _tensor(t, "buffer", "a mask registered as 'bias' (GPT-2's causal mask)")
    weight = tensors.get(f"{module}.weight" if module else "weight")
    if len(t.shape) == 1 and leaf == "weight":
        return _tensor(t, "norm", "a 1-D weight (a norm's scale)")
    if len(t.shape) == 1 and leaf == "bias" and weight is not None and weight.shape == t.shape:
        return _tensor(t, "norm", "the 1-D bias of a norm")
    if leaf == "weight":
        return _tensor(t, "other", f"a {len(t.shape)}-D weight: not a Linear's")
    return _tensor(t, "other", "not a module's weight or bias")


def _decide(
    module: str,
    t: TensorInfo,
    bias: TensorInfo | None,
    forced: str | None,
    conv1d: tuple[str, ...],
    linear: tuple[str, ...],
    by_bias: dict[str, str],
    by_leaf: dict[str, set[str]],
    biased_kinds: set[str],
    model_type: str | None,
    type_source: str | None,
    file_format: str,
) -> tuple[str, str, str, str]:
    """(kind, source, how, why) for one 2-D weight, by the rules in the module's docstring."""
    rows, cols = t.shape
    leaf = _leaf(module)
    if forced is not None:
        option = "--conv1d" if forced == "conv1d" else "--linear"
        pattern = _matches(conv1d if forced == "conv1d" else linear, module)
        return forced, "option", f"{option} {pattern}", f"{option} {pattern!r} names it"
    if file_format == "text":
        return "linear", "text", "Linear(...)", "PyTorch's text names it Linear"
    if module in by_bias:
        if by_bias[module] == "linear":
            why = f"its bias has {rows} numbers, the weight's rows: out × in (nn.Linear)"
            return "linear", "bias", f"bias ({rows},) = rows", why
        why = f"its bias has {cols} numbers, the weight's columns: stored in × out (Conv1D)"
        return "conv1d", "bias", f"bias ({cols},) = cols", why
    shape_words = "square" if rows == cols and bias is not None else "no bias"
    if model_type is not None:
        conv_names = CONV1D_MODELS.get(model_type)
        kind = "conv1d" if conv_names is not None and leaf in conv_names else "linear"
        source = "config" if type_source == "config.json" else "metadata"
        why = f"{shape_words}; {type_source} says model_type {model_type}, whose {leaf} is " + (
            "Conv1D" if kind == "conv1d" else "nn.Linear"
        )
        return kind, source, f"{type_source} {model_type}", why
    kinds = by_leaf.get(leaf, set())
    if len(kinds) == 1:
        (kind,) = kinds
        same = [m for m in by_bias if _leaf(m) == leaf]
        other = max(same, key=lambda m: _shared_parts(m, module))
        why = f"{shape_words}; {other}, also named {leaf}, is {kind} by its bias"
        return kind, "file", f"as {other}", why
    if bias is not None and len(biased_kinds) == 1:
        (kind,) = biased_kinds
        why = f"{shape_words}; every layer of the file settled by its bias is {kind}"
        return kind, "file", "as the file's others", why
    if leaf in HEAD_NAMES:
        why = f"{shape_words}; {leaf} is an output head, an nn.Linear in transformers' models"
        return "linear", "name", f"name {leaf}", why
    if leaf in CONV1D_NAMES:
        why = f"{shape_words}; {leaf} is a Conv1D name in transformers' GPT-2 (--linear overrides)"
        return "conv1d", "name", f"name {leaf}", why
    why = (
        f"{shape_words}, nothing in the file says otherwise: nn.Linear's out × in assumed "
        "(--conv1d overrides)"
    )
    return "linear", "default", "assumed", why


def _shared_parts(a: str, b: str) -> int:
    """How many leading dotted parts two names share."""
    shared = 0
    for x, y in zip(a.split("."), b.split("."), strict=False):
        if x != y:
            break
        shared += 1
    return shared


def _tie(model: Model, notes: list[str]) -> Model:
    """Find tied weights (see the module's docstring) and add what the file leaves out."""
    checkpoint = model.checkpoint
    present = checkpoint.by_name()
    layers, tensors = list(model.layers), list(model.tensors)
    ties: list[Tie] = []
    # safetensors.torch.save_model: __metadata__ maps each dropped name to the name it kept.
    for dropped, kept in checkpoint.metadata.items():
        if dropped in present or kept not in present or dropped == "__metadata__":
            continue
        source = "__metadata__ (safetensors.torch.save_model)"
        ties.append(Tie(dropped, kept, source))
        target = present[kept]
        for index, layer in enumerate(layers):  # the kept one: its row says it is shared
            if layer.weight_name == kept:
                layers[index] = _retie(layer, dropped)
        module = _module(dropped)
        if module and len(target.shape) == 2 and not _is_embedding(module):
            layers.append(_implied(module, dropped, target, kept, source))
        else:
            role = "embedding" if module and _is_embedding(module) else "other"
            tensors.append(
                Tensor(dropped, role, target.shape, target.torch_dtype, 0,
                       f"not in the file: tied to {kept} ({source})", kept, False)
            )  # fmt: skip
    # The config: an LM head whose weight is the input embedding.
    tie, said = _config_ties(checkpoint, model.model_type)
    embedding = _word_embedding(tensors)
    if tie and embedding is not None and not any(t.name == embedding.name for t in ties):
        head = next((x for x in layers if _leaf(x.name) in HEAD_NAMES), None)
        if head is None and not any(t.to == embedding.name for t in ties):
            name = "lm_head.weight"  # the head sits at the top of the model
            layers.append(
                _implied("lm_head", name, _info(embedding), embedding.name, f"{said} is true")
            )
            ties.append(Tie(name, embedding.name, f"{said} is true"))
        elif head is not None and head.in_file and head.stored == embedding.shape:
            ties.append(Tie(head.weight_name, embedding.name, f"{said} is true"))
            layers[layers.index(head)] = _retie(head, embedding.name)
    # An .npz: a Linear weight saved with an embedding's very bytes (the zip's CRC-32).
    if checkpoint.format == "npz":
        crcs = {(t.name): present[t.name] for t in tensors if t.role == "embedding"}
        for index, layer in enumerate(layers):
            info = present.get(layer.weight_name)
            if info is None or any(t.name == layer.weight_name for t in ties):
                continue
            for name, other in crcs.items():
                if (
                    other.crc == info.crc
                    and other.shape == info.shape
                    and other.dtype == info.dtype
                ):
                    ties.append(
                        Tie(layer.weight_name, name, "the same bytes (zip CRC-32 and size)")
                    )
                    layers[index] = _retie(layer, name)
                    break
    if checkpoint.format == "safetensors":  # its writers sort names: h.10 before h.2
        layers.sort(key=lambda x: (_leaf(x.name) in HEAD_NAMES, natural(x.name)))
        tensors.sort(key=lambda x: natural(x.name))
    return Model(
        checkpoint, tuple(layers), tuple(tensors), tuple(ties), model.model_type,
        model.model_type_source, tuple(notes),
    )  # fmt: skip


def natural(name: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key putting ``h.2`` before ``h.10``."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in name.split("."))


def _info(tensor: Tensor) -> TensorInfo:
    from .tensors import TORCH_DTYPES

    dtype = next(k for k, v in TORCH_DTYPES.items() if v == tensor.dtype)
    return TensorInfo(tensor.name, dtype, tensor.shape, tensor.nbytes)


def _implied(module: str, name: str, target: TensorInfo, kept: str, source: str) -> LinearLayer:
    """A Linear layer the file leaves out because its weight is ``kept``'s (an LM head)."""
    rows, cols = target.shape
    return LinearLayer(
        module, "linear", cols, rows, False, target.torch_dtype, (rows, cols), "tied",
        f"tied to {kept}", f"not in the file: its weight is {kept} ({source})", 0, name,
        None, kept, False,
    )  # fmt: skip


def _retie(layer: LinearLayer, to: str) -> LinearLayer:
    return layer._replace(tied_to=to)


def _word_embedding(tensors: list[Tensor]) -> Tensor | None:
    embeddings = [t for t in tensors if t.role == "embedding" and len(t.shape) == 2]
    for leaf in WORD_EMBEDDINGS:
        for t in embeddings:
            if _leaf(_module(t.name)) == leaf:
                return t
    return None


def pick(model: Model, patterns: tuple[str, ...]) -> tuple[LinearLayer, ...]:
    """The layers whose names match one of ``patterns`` (fnmatch globs; all when empty)."""
    if not patterns:
        return model.layers
    picked = tuple(layer for layer in model.layers if _matches(patterns, layer.name))
    for pattern in patterns:
        if not any(_matches((pattern,), layer.name) for layer in model.layers):
            raise LinexplainError(
                f"--layer {pattern!r} matches none of the {len(model.layers)} Linear layers"
                + _near(pattern, model),
                "give a layer's name or a glob, e.g. --layer '*.mlp.c_fc' (see the table "
                "without --layer)",
            )
    return picked


def _near(pattern: str, model: Model) -> str:
    import difflib

    names = [layer.name for layer in model.layers]
    close = difflib.get_close_matches(pattern, names, n=1, cutoff=0.5)
    if not close:
        close = [n for n in names if n.endswith(pattern.strip("*."))][:1]
    return f" (did you mean {close[0]}?)" if close else ""


def find_layer(model: Model, key: str) -> LinearLayer:
    """The one layer ``key`` names: a name, with or without ``.weight``, or a glob matching one."""
    exact = [x for x in model.layers if key in (x.name, x.weight_name)]
    found = exact or [x for x in model.layers if _matches((key,), x.name)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise LinexplainError(
            f"--key {key!r} names none of the {len(model.layers)} Linear layers of "
            f"{model.checkpoint.path}" + _near(key, model),
            f"see them with: linexplain model {model.checkpoint.path}",
        )
    shown = ", ".join(x.name for x in found[:3]) + (", …" if len(found) > 3 else "")
    raise LinexplainError(
        f"--key {key!r} matches {len(found)} layers ({shown})",
        "name one layer, e.g. " + found[0].name,
    )
