"""The usual recipe for indexing a corpus, as issue 13 measured it, in a process of its own:

    python -m benchmarks.recipe_build MODEL_FOLDER CORPUS_FOLDER OUT_FOLDER

import sentence-transformers, load e5 (torch, float32), cut every file into chunks of about 500
characters (whole sentences packed up to 500, no overlap), embed them as passages in batches of
32, put the vectors into an exact FAISS index and write it with the chunks. Prints one JSON line.
"""

import json
import re
import sys
import time
from pathlib import Path

started = time.perf_counter()
import faiss  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

CHUNK_CHARS = 500
_SENTENCE = re.compile(r"[^。！？!?\n]*[。！？!?\n]+|[^。！？!?\n]+")


def chunks(text: str) -> list[str]:
    out, current = [], ""
    for sentence in _SENTENCE.findall(text):
        if current and len(current) + len(sentence) > CHUNK_CHARS:
            out.append(current)
            current = ""
        current += sentence
    if current.strip():
        out.append(current)
    return [c.strip() for c in out if c.strip()]


def main() -> None:
    model_folder, corpus, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    model = SentenceTransformer(model_folder, device="cpu", local_files_only=True)
    texts = [c for path in sorted(corpus.rglob("*.txt")) for c in chunks(path.read_text(encoding="utf-8"))]
    vectors = model.encode(texts, prompt_name="passage", batch_size=32, normalize_embeddings=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    out.mkdir(parents=True, exist_ok=True)
    faiss.write_index(index, str(out / "dense.faiss"))
    (out / "chunks.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    print(json.dumps({"chunks": len(texts), "characters": sum(map(len, texts)),
                      "seconds": round(time.perf_counter() - started, 2)}))  # fmt: skip


if __name__ == "__main__":
    main()
