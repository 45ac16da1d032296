"""Turning text into vectors: the model conversion, the ONNX encoder, the embedder that picks one."""
