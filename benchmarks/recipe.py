"""The usual recipe the issue measures: import sentence-transformers, load e5, embed one question."""

import sys
import time

started = time.perf_counter()
from sentence_transformers import SentenceTransformer  # noqa: E402

imported = time.perf_counter()
model = SentenceTransformer(sys.argv[1], device="cpu", local_files_only=True)
loaded = time.perf_counter()
vector = model.encode([sys.argv[2]], prompt_name="query", normalize_embeddings=True)
done = time.perf_counter()
print(f"import {imported - started:.2f} load {loaded - imported:.2f} encode {done - loaded:.2f} dim {vector.shape[1]}")
