"""The offline-first data layer. See ``sources`` for where files are looked for."""
from .sources import (DataNotFoundError, Resource, cache_dir, fetch, locate, mirror_dirs,
                      offline)
from .vision import (CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD, MNIST_MEAN, MNIST_STD,
                     cifar10, load_cifar10, load_mnist, mnist, subset)
from .text import (TextSplit, load_ag_news, load_mr, load_sst2, load_tinyshakespeare,
                   load_trec)
from .augment import AugmentedImages, cifar10_augmented
from .tabular import load_digits, load_iris, load_sunspots
from .report import data_report
from .folders import CIFAR10_VEHICLES, cifar10_folder

__all__ = [
    "DataNotFoundError", "Resource", "cache_dir", "fetch", "locate", "mirror_dirs", "offline",
    "CIFAR10_CLASSES", "CIFAR10_MEAN", "CIFAR10_STD", "MNIST_MEAN", "MNIST_STD",
    "cifar10", "load_cifar10", "load_mnist", "mnist", "subset", "AugmentedImages", "cifar10_augmented",
    "TextSplit", "load_ag_news", "load_mr", "load_sst2", "load_tinyshakespeare", "load_trec",
    "load_digits", "load_iris", "load_sunspots", "data_report",
    "CIFAR10_VEHICLES", "cifar10_folder",
]
from .text_toolkit import PAD, UNK, TextBatch, TextLoader, Vocab, pad_sequences, text_loader, tokenize

__all__ += ["tokenize", "Vocab", "pad_sequences", "text_loader", "TextBatch", "TextLoader", "PAD", "UNK"]
from .series import persistence_rmse, sliding_windows

__all__ += ["sliding_windows", "persistence_rmse"]
from .scenes import HELD_OUT_SEED, SCENE_CLASSES, Scenes, collate_scenes, scenes

__all__ += ["Scenes", "scenes", "collate_scenes", "HELD_OUT_SEED", "SCENE_CLASSES"]
from .wordpiece import BertBatch, BertLoader, WordPiece, bert_loader, minilm_path, mlm_mask

__all__ += ["WordPiece", "BertBatch", "BertLoader", "bert_loader", "minilm_path", "mlm_mask"]
from .language_model import CharTokenizer, NextTokenWindows, split_stream, window_loader

__all__ += ["CharTokenizer", "NextTokenWindows", "split_stream", "window_loader"]
from .bpe import ByteBPE

__all__ += ["ByteBPE"]
