"""The model zoo: specs from the config, timm models built from them, weights and metadata on disk.

Kept import-light: the CLI imports every stage's `commands` module at start-up.
"""
