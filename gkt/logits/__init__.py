"""The per-model logits cache: every later stage reads models through it."""
