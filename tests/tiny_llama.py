"""Tiny randomly initialised Llama models for fast end-to-end tests of training and answering."""
from pathlib import Path


def save_tiny_llama(path: Path, tokenizer, hidden_size: int = 64, seed: int = 0) -> Path:
    """A 2-layer Llama over `tokenizer`'s vocabulary, saved with the tokenizer as an HF directory."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def steer(model, token_id: int, logit: float = 10.0) -> None:
    """Make greedy decoding always pick `token_id`: an untied output head that ignores the hidden
    state, so a test can assert exactly what a random-weight model answers."""
    import torch

    head = torch.nn.Linear(model.config.hidden_size, model.config.vocab_size, bias=True)
    torch.nn.init.zeros_(head.weight)
    with torch.no_grad():
        head.bias.zero_()
        head.bias[token_id] = logit
    model.lm_head = head
