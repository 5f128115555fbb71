"""Knowledge transfer between pretrained models (SPEC.md §2–5): losses, trainer, multi-teacher, jobs.

Submodules import torch; this package file stays empty so `gkt --help` does not pay for it.
"""
