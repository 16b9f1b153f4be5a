"""Shareable model artifacts: Hugging Face model cards and GGUF files for llama.cpp / Ollama."""
