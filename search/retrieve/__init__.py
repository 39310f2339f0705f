"""Answering a question: the engine, the bridge, fusion, answer types, highlights and the answer sentence."""
