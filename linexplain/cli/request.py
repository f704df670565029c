"""From options to a :class:`~linexplain.request.Request`: text parsed, files read, defaults
chosen, options that exclude each other refused — once, at the edge."""

from __future__ import annotations

import sys
from enum import Enum
from typing import TYPE_CHECKING, Any

from ..errors import LinexplainError
from ..terminal import use_rich
from .options import UPSTREAMS

if TYPE_CHECKING:  # imported when a command runs: TAB completion needs neither
    from ..request import Request


def _value(option: Any) -> Any:
    return option.value if isinstance(option, Enum) else option


def _one_of(**options: object) -> None:
    """Refuse two options that each give the same thing."""
    given = [name for name, value in options.items() if value is not None]
    if len(given) > 1:
        raise LinexplainError(
            f"{' and '.join(given)} both give the same thing",
            f"give only one of {', '.join(options)}",
        )


def _layer(value: int | None) -> int | None:
    """The (l) superscript: None for no option or -1."""
    if value is not None and value < -1:
        raise LinexplainError(
            f"--layer {value} is not a layer number", "use 0 or more, or -1 for none"
        )
    return None if value in (None, -1) else value


def output_format(format_: Any, json: bool, piped: str, output: str | None = None) -> str:
    """json, or the format asked for, or the one ``output``'s suffix names, or ``pretty`` on a
    terminal and ``piped`` elsewhere."""
    if json and format_ is not None:
        raise LinexplainError(
            f"--json and --format {_value(format_)} both say what to write", "give one of them"
        )
    if json:
        return "json"
    if format_ is not None:
        return str(_value(format_))
    if output is not None and output != "-":
        from ..output import format_for

        return format_for(output)
    return "pretty" if use_rich(sys.stdout) else piped


def build(piped: str = "ascii", **options: Any) -> tuple[Request, str]:
    """The request the options describe, and the output format.

    ``options`` are a command's parameters by name (``format_``, ``input_``, ``json`` …);
    ``piped`` is the format when the output is not a terminal.
    """
    from ..grammar import parse_bindings, parse_bytes, parse_shape
    from ..layers import check_features
    from ..view import View

    o = {name: _value(value) for name, value in options.items()}
    if "file" in o:  # linexplain model FILE
        return _model_request(o, piped)
    in_features, out_features = check_features(o.get("in_features"), o.get("out_features"))
    _one_of(**{"--input": o.get("input_"), "--input-file": o.get("input_file"),
               "--input-shape": o.get("input_shape")})  # fmt: skip
    _one_of(**{"--weight": o.get("weight"), "--weight-file": o.get("weight_file")})
    if o.get("bias_values") is not None and o.get("weight") is None:
        raise LinexplainError("--bias-values needs --weight", "give --weight too")
    upstream = o.get("upstream", "ones")
    if upstream == "-" and o.get("input_file") == "-":
        raise LinexplainError(
            "--input-file - and --upstream - cannot both read stdin",
            "save one of them to a file, e.g. --upstream g.npy",
        )
    view = View(
        index_base=int(o.get("index_base", 1)),
        layer=_layer(o.get("layer")),
        max_terms=o.get("max_terms", 8),
        full=o.get("full", False),
        precision=o.get("precision", 4),
        format=o.get("format_") or "pretty",
    )
    dtype = o.get("dtype", "float32")
    shape = o.get("input_shape")
    network = _network(o)
    key_notes: list[str] = []
    if o.get("key") is not None:  # one layer of a model's checkpoint
        o["one_layer_state"], key_notes = _key_state(o, network, dtype)
    if network is not None and network.is_one_linear:  # a single Linear: as --in/--out
        layer = network.layers[0]
        from ..layers import Linear

        assert isinstance(layer, Linear)
        in_features, out_features = layer.in_features, layer.out_features
        o["bias"] = layer.bias
        if o.get("weight_file") is not None:  # its state_dict names it 0.weight, 0.bias
            o["one_layer_state"] = _one_layer_state(o.pop("weight_file"), dtype)
        network = None
    max_memory = o.get("max_memory")
    state = None
    if network is not None and o.get("weight_file") is not None:
        from ..checkpoint import load_state

        state = load_state(o.pop("weight_file"), dtype)
    arrays, notes = _arrays(o, dtype)
    notes = [*key_notes, *notes]
    if upstream not in UPSTREAMS:
        arrays["upstream"], more = _upstream(upstream, dtype, o.get("max_memory"), arrays)
        notes += more
    from ..request import Request

    request = Request(
        in_features=in_features,
        out_features=out_features,
        bias=o.get("bias", True),
        input_shape=None if shape is None else parse_shape(shape),
        dims=parse_bindings(o.get("dims", "")),
        dtype=dtype,
        seed=o.get("seed"),
        max_memory=None if max_memory is None else parse_bytes(max_memory),
        view=view,
        form=o.get("form", "all"),
        steps=o.get("steps", False),
        upstream=arrays.pop("upstream", upstream),
        check=o.get("check", False),
        notes=tuple(notes),
        network=network,
        state=state,
        **arrays,
    )
    return request, output_format(o.get("format_"), o.get("json", False), piped, o.get("output"))


def _arrays(o: dict[str, Any], dtype: str) -> tuple[dict[str, Any], list[str]]:
    """The input and weights the options give, read (never evaluated)."""
    keys = ("input_", "input_file", "weight", "weight_file", "one_layer_state")
    if not any(o.get(k) is not None for k in keys):
        return {}, []
    from ..arrays import load_weights, parse_array, read_array

    found: dict[str, Any] = {}
    notes: list[str] = []
    # Each read is checked against --max-memory beside the arrays read before it.
    limit = _limit(o.get("max_memory"))
    if o.get("input_") is not None:
        found["x"] = parse_array(o["input_"], "--input", dtype, limit, held=_held(found))
    elif o.get("input_file") is not None:
        found["x"], more = read_array(o["input_file"], dtype, limit, held=_held(found))
        notes += more
    if o.get("one_layer_state") is not None:
        found["weight"], found["bias_values"] = o["one_layer_state"]
    elif o.get("weight") is not None:
        found["weight"] = parse_array(o["weight"], "--weight", dtype, limit, held=_held(found))
        if o.get("bias_values") is not None:
            found["bias_values"] = parse_array(
                o["bias_values"], "--bias-values", dtype, limit, held=_held(found)
            )
    elif o.get("weight_file") is not None:
        found["weight"], found["bias_values"] = load_weights(
            o["weight_file"], dtype, limit, held=_held(found)
        )
    return found, notes


def _limit(max_memory: str | None) -> int | None:
    """--max-memory in bytes (None: the default limit)."""
    from ..grammar import parse_bytes

    return None if max_memory is None else parse_bytes(max_memory)


def _held(arrays: dict[str, Any]) -> int:
    """Bytes of the arrays read so far."""
    return sum(getattr(a, "nbytes", 0) for a in arrays.values())


def _upstream(
    upstream: str, dtype: str, max_memory: str | None = None, held: dict[str, Any] | None = None
) -> tuple[Any, list[str]]:
    """G from a file named by --upstream, read within --max-memory beside the arrays held."""
    from ..arrays import is_array_file, read_array

    if upstream != "-" and not is_array_file(upstream):
        raise LinexplainError(
            f"--upstream {upstream!r} is neither ones, seed, nor a .npy/.csv/.txt/.json file",
            "use --upstream ones (L = y.sum()), --upstream seed, or a file holding G",
        )
    array, notes = read_array(upstream, dtype, _limit(max_memory), held=_held(held or {}))
    return array, list(notes)


MAX_SPEC_BYTES = 2**20


def _network(o: dict[str, Any]) -> Any:
    """The network --net or --net-file describes (None without either)."""
    net, net_file = o.get("net"), o.get("net_file")
    if net is None and net_file is None:
        if o.get("act") is not None:
            raise LinexplainError("--act needs --net", "give the network, e.g. --net 784,256,10")
        return None
    _one_of(**{"--net": net, "--net-file": net_file})
    for option in ("in_features", "out_features"):
        if o.get(option) is not None:
            flag = "--in" if option == "in_features" else "--out"
            raise LinexplainError(
                f"{flag} and --net both give the layers", f"drop {flag}: the network has them"
            )
    text = _read_spec(net_file) if net_file is not None else str(net)
    from ..netspec import parse_net
    from ..network import Network

    return Network.of(parse_net(text, o.get("act")))


def _read_spec(path: str) -> str:
    """The text of a --net-file (or stdin), bounded before it is read."""
    import os
    import stat

    if path == "-":
        try:
            text = sys.stdin.read(MAX_SPEC_BYTES + 1)
        except (OSError, ValueError) as error:
            raise LinexplainError(
                f"--net-file -: cannot read stdin ({error})", "pipe the network in"
            ) from None
    else:
        try:
            info = os.stat(os.path.realpath(path))
            if not stat.S_ISREG(info.st_mode):
                raise LinexplainError(
                    f"--net-file {path!r} is not a regular file", "give a text file"
                )
            with open(path, encoding="utf-8") as file:
                text = file.read(MAX_SPEC_BYTES + 1)
        except UnicodeDecodeError:
            raise LinexplainError(
                f"--net-file {path!r} is not UTF-8 text", "save it as text"
            ) from None
        except OSError as error:
            raise LinexplainError(
                f"--net-file {path!r}: {error.strerror}", "check the path"
            ) from None
    if len(text) > MAX_SPEC_BYTES:
        raise LinexplainError(
            f"the network text is over {MAX_SPEC_BYTES:,} characters", "give a smaller network"
        )
    return text


def _one_layer_state(path: str, dtype: str) -> tuple[Any, Any]:
    """The weight and bias of a one-Linear nn.Sequential's state_dict (0.weight, 0.bias)."""
    from ..checkpoint import load_state

    state = load_state(path, dtype)
    if "0.weight" not in state or set(state) - {"0.weight", "0.bias"}:
        raise LinexplainError(
            f"{path} holds {', '.join(sorted(state)) or 'nothing'}; a network of one Linear "
            "needs 0.weight (and 0.bias)",
            "save nn.Sequential(nn.Linear(...)).state_dict(), or use --in/--out with an .npz "
            "of weight and bias",
        )
    return state["0.weight"], state.get("0.bias")


def _patterns(values: list[str] | None, option: str) -> tuple[str, ...]:
    """Globs given to a repeatable option, commas separating more of them."""
    out = []
    for value in values or ():
        for part in value.split(","):
            part = part.strip()
            if not part:
                raise LinexplainError(f"{option} has an empty pattern", "e.g. {option} '*.c_proj'")
            if len(part) > 1000:
                raise LinexplainError(
                    f"{option}: a pattern of {len(part):,} characters", "shorten it"
                )
            out.append(part)
    return tuple(out)


def _model_request(o: dict[str, Any], piped: str) -> tuple[Request, str]:
    """linexplain model: the checkpoint's header read, the patterns and the input checked."""
    from ..grammar import parse_bindings, parse_shape
    from ..model import ModelQuery
    from ..tensors import read_checkpoint

    conv1d = _patterns(o.get("conv1d"), "--conv1d")
    linear = _patterns(o.get("linear"), "--linear")
    layers = _patterns(o.get("layer"), "--layer")
    shape = o.get("input_shape")
    from ..request import Request

    request = Request(
        input_shape=None if shape is None else parse_shape(shape),
        dims=parse_bindings(o.get("dims", "")),
        model=ModelQuery(read_checkpoint(o["file"]), conv1d, linear, layers),
    )
    return request, output_format(o.get("format_"), o.get("json", False), piped, o.get("output"))


def _key_state(o: dict[str, Any], network: Any, dtype: str) -> tuple[tuple[Any, Any], list[str]]:
    """--key: that layer's weight (out × in, a Conv1D's transposed) and bias, read alone."""
    from ..grammar import format_shape, parse_bytes
    from ..model import classify, find_layer
    from ..tensors import load_tensor, read_checkpoint

    key, path = o["key"], o.get("weight_file")
    if network is not None or o.get("net") is not None or o.get("net_file") is not None:
        raise LinexplainError(
            "--key picks one Linear of a checkpoint; --net describes a network",
            "drop --net (the layer's weights give its sizes), or drop --key",
        )
    if path is None:
        raise LinexplainError(
            "--key names a layer of a checkpoint, and no --weight-file was given",
            f"give the file: --weight-file model.safetensors --key {key}",
        )
    checkpoint = read_checkpoint(path)
    if checkpoint.format == "text":
        raise LinexplainError(
            f"{path} is PyTorch's text: it has no weights",
            "give the checkpoint: a .safetensors file or an .npz of the state_dict",
        )
    layer = find_layer(classify(checkpoint), key)
    limit = None if o.get("max_memory") is None else parse_bytes(o["max_memory"])
    source = layer.weight_name if layer.in_file else layer.tied_to
    assert source is not None
    weight = load_tensor(checkpoint, source, dtype, limit)
    stored = format_shape(layer.stored)
    if layer.kind == "conv1d":
        weight = weight.T.copy()
        how = (
            f"a Conv1D weight stored in × out {stored}, transposed into layer.weight's "
            f"out × in {format_shape(weight.shape)}"
        )
    else:
        how = f"an nn.Linear weight, out × in {stored}"
    if not layer.in_file:
        how += f" (not in the file: {source}, the tensor it is tied to)"
    bias = None
    if layer.bias_name is not None:
        bias = load_tensor(checkpoint, layer.bias_name, dtype, limit)
        how += f", and its bias {layer.bias_name} {format_shape(bias.shape)}"
    o.pop("weight_file")
    return (weight, bias), [f"--key {layer.name} from {path}: {how}; kind: {layer.why}"]
