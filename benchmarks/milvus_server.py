"""What a question's checks cost on a real Milvus server (`python -m benchmarks.milvus_server`, docs/stores.md).

Starts the Milvus 2.3.5 standalone server of the `milvus` package (the test extra) on a free port in a temporary
folder, creates the store's collections (dense-only, as on any 2.3 server), and measures:

- the generation lookup that every process makes before each question (one primary-key `get`), at `Strong`
  consistency (the collections' level), at `Bounded` (what the store uses while answering) and at `Eventually`;
- how long a change written by one client takes to be seen by another at `Eventually`.

    python -m benchmarks.milvus_server [--calls 100] [--writes 5]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import tempfile
import time

from assistant.store import milvus


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="lookups per consistency level")
    parser.add_argument("--writes", type=int, default=5, help="changes whose visibility is timed")
    args = parser.parse_args()
    from milvus import MilvusServer, MilvusServerConfig
    from pymilvus import MilvusClient

    folder = tempfile.mkdtemp(prefix="milvus-bench-")
    server = MilvusServer(MilvusServerConfig(data_dir=folder, proxy_port=_free_port()))
    began = time.monotonic()
    server.start()
    print(f"Milvus started in {time.monotonic() - began:.1f} s")
    try:
        uri = f"http://127.0.0.1:{server.listen_port}"
        reader, writer = MilvusClient(uri), MilvusClient(uri)
        print(f"server {reader.get_server_version()}; store mode: {milvus.mode(reader)}")
        milvus._create(reader, milvus._meta("bench", 4, milvus.mode(reader)))
        for name in (milvus.PASSAGES, milvus.SENTENCES, milvus.DOCUMENTS):
            reader.load_collection(name)
        row = {"name": milvus.GENERATION, "shard": "", "unused": [0.0, 0.0]}
        writer.upsert(milvus.DOCUMENTS, [{**row, "info": "start"}])
        print("\n| generation lookup | p50 ms | p95 ms |\n|---|---|---|")
        for level in ("Strong", "Bounded", "Eventually"):
            times = []
            for _ in range(args.calls):
                t = time.perf_counter()
                reader.get(milvus.DOCUMENTS, ids=[milvus.GENERATION], output_fields=["info"], consistency_level=level)
                times.append(time.perf_counter() - t)
            print(f"| {level} | {_ms(times, 0.5):.1f} | {_ms(times, 0.95):.1f} |")
        seen = []
        for n in range(args.writes):
            writer.upsert(milvus.DOCUMENTS, [{**row, "info": f"v{n}"}])
            t = time.perf_counter()
            while reader.get(milvus.DOCUMENTS, ids=[milvus.GENERATION], output_fields=["info"],
                             consistency_level="Eventually")[0]["info"] != f"v{n}":  # fmt: skip
                time.sleep(0.005)
            seen.append(time.perf_counter() - t)
        print(f"\nanother client's change seen at Eventually after {', '.join(f'{1000 * s:.0f}' for s in seen)} ms")
        reader.close()
        writer.close()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
