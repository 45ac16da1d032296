"""Raw encoder throughput in a process of its own: `python -m benchmarks.encode onnx|torch TEXTS.json`.

Prints the wall and CPU seconds to embed the texts (as passages), best of two runs after a
warm-up batch. A process of its own, so that neither library's thread pool competes with the other's.
"""

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from assistant.config import Settings
from assistant.encode.convert import load_model, model_path
from assistant.encode.onnx import OnnxEncoder, onnx_folder


def encoder(backend: str) -> Callable[[list[str]], object]:
    if backend == "torch":  # sentence-transformers' default: torch, float32, batch size 32
        model = load_model(Settings.load())
        return lambda texts: model.encode(texts, prompt_name="passage", batch_size=32, normalize_embeddings=True)
    onnx = OnnxEncoder(onnx_folder(Path(model_path(Settings.load()))))
    return lambda texts: onnx.encode(texts, "passage: ")


def main() -> None:
    backend, texts = sys.argv[1], json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
    encode = encoder(backend)
    encode(texts[:8])  # the first run pays for lazy initialisation
    runs = []
    for _ in range(2):
        started, cpu = time.perf_counter(), time.process_time()
        encode(texts)
        runs.append((time.perf_counter() - started, time.process_time() - cpu))
    # CPU time (all threads) too: on a shared machine wall time also measures the neighbours.
    seconds, cpu_seconds = min(runs)
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "texts": len(texts)}))


if __name__ == "__main__":
    main()
