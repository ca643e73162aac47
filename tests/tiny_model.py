"""A randomly initialised 2-layer Llama saved to a folder: real transformers plumbing in milliseconds.

Fine for testing what happens around generation (interrupts, locks, prompt lengths); never evidence about
scores. Its word-level tokenizer knows a dozen words, so a prompt's token count is its word count.
"""

from __future__ import annotations

from pathlib import Path


def build_tiny_model(folder: Path, context: int = 4096) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    plain = ["the", "a", "sea", "sun", "is", "blue", "red", "one", "two", "three", "four", "five"]
    vocab = {word: i for i, word in enumerate(["<pad>", "</s>", "<unk>", *plain])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    tokenizer.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=64,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=context,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=None,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder
