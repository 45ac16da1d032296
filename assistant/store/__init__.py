"""Where passages are kept and searched: the local FAISS + BM25 index, its builds and shards, the library."""
