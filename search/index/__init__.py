"""The index on disk: building it, its files and generations, the FAISS and BM25 structures, language centering."""
