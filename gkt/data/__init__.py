"""Datasets (`gkt.data.factory.get_dataset`): the embedded mnist5k and digits, image folders with their own
classes, and ImageNet folders / ffcv files.

Kept import-light: the CLI imports every stage's `commands` module at start-up.
"""
