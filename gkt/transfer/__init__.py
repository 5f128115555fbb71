"""Knowledge transfer between pretrained models: losses, trainer, multi-teacher, jobs (docs/method.md#transfer-methods).

Submodules import torch; this package file stays empty so `gkt --help` does not pay for it.
"""
