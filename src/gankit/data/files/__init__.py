"""Readers for the user's own data files: MNIST-style IDX, CIFAR-10 batches, image folders, .npz.

Every reader returns a ``TensorData`` with images as NCHW float32 in [-1, 1] (uint8 pixels p
map to ``p / 127.5 - 1``, so 0 -> -1 and 255 -> 1 exactly) and labels as int64. Every problem
with the user's files raises ``GankitError`` with one line naming the file and the fault; no
other exception type escapes for bad input. Nothing here downloads anything, and nothing here
executes code found in a file. One module per format: ``idx_files``, ``cifar_batches``,
``image_folder``, ``npz_files``; ``common`` holds what they share.
"""

from gankit.data.files.cifar_batches import cifar10
from gankit.data.files.idx_files import idx
from gankit.data.files.image_folder import imagefolder
from gankit.data.files.npz_files import npz

__all__ = ["cifar10", "idx", "imagefolder", "npz"]
