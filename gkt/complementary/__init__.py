"""Complementary knowledge between pretrained models (paper §3, SPEC.md §1).

`pairs`: which (teacher, student) pairs; `stats`: flips, κ, per-class distributions and top-X %
class sets from cached predictions; `semantic`: class-name embeddings and set similarity;
`commands`: the `gkt` subcommands over them.
"""
