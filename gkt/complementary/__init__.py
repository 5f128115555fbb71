"""Complementary knowledge between pretrained models (paper §3; docs/method.md#complementary-knowledge).

`pairs`: which (teacher, student) pairs; `stats`: flips, κ, per-class distributions and top-X %
class sets from cached predictions; `semantic`: class-name embeddings and set similarity;
`commands`: the `gkt` subcommands over them.
"""
