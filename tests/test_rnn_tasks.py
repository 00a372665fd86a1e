"""RNNClassifier and RNNForecaster: our recurrent layers and torch's give the same logits and gradients
from one state dict, for every pooling, on a padded batch; sliding windows never look ahead."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.data import persistence_rmse, sliding_windows
from dlcourse.models.rnn_tasks import POOLINGS, RNNClassifier, RNNForecaster


def _batch(seed=0, vocab=30):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([7, 3, 5, 1])
    ids = torch.randint(2, vocab, (4, 7), generator=g)
    ids[torch.arange(7)[None, :] >= lengths[:, None]] = 0
    return ids, lengths


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("pooling", POOLINGS)
def test_ours_and_torch_agree_in_logits_and_gradients(kind, pooling):
    options = dict(kind=kind, embed_dim=6, hidden_size=5, num_layers=2, bidirectional=True, pooling=pooling)
    torch.manual_seed(0)
    theirs = RNNClassifier(30, 3, impl="torch", **options)
    ours = RNNClassifier(30, 3, impl="ours", **options)
    ours.load_state_dict(theirs.state_dict())            # the same keys: a plain copy
    batch = _batch()
    a, b = ours(batch), theirs(batch)
    assert (a - b).abs().max() < 1e-5
    a.square().sum().backward()
    b.square().sum().backward()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert (p.grad - q.grad).abs().max() < 1e-5, name


def test_padding_does_not_change_a_sentences_logits():
    torch.manual_seed(0)
    model = RNNClassifier(30, 2, kind="lstm", embed_dim=6, hidden_size=5, bidirectional=True, pooling="max+mean").eval()
    ids, lengths = _batch()
    alone = model((ids[1:2, :3], lengths[1:2]))
    in_batch = model((ids, lengths))[1:2]
    assert (alone - in_batch).abs().max() < 1e-6


def test_bad_options_fail_clearly():
    with pytest.raises(ValueError, match="pooling must be one of"):
        RNNClassifier(10, 2, pooling="sum")
    with pytest.raises(ValueError, match="kind must be"):
        RNNClassifier(10, 2, kind="transformer")
    with pytest.raises(ValueError, match="impl must be"):
        RNNClassifier(10, 2, impl="cudnn")


def test_forecaster_maps_windows_to_one_value():
    x, y = sliding_windows(np.arange(30.0), 5)
    assert RNNForecaster(hidden_size=4)(x).shape == y.shape == (25, 1)


def test_sliding_windows_hold_only_the_past():
    x, y = sliding_windows(np.arange(10.0), 3, start=6)
    assert y.squeeze(-1).tolist() == [6, 7, 8, 9]
    assert x[0].squeeze(-1).tolist() == [3, 4, 5]              # the three years before the target
    assert (x.squeeze(-1).max(1).values < y.squeeze(-1)).all()
    x, y = sliding_windows(np.arange(10.0), 3, stop=6)
    assert y.squeeze(-1).tolist() == [3, 4, 5]
    with pytest.raises(ValueError, match="1-D series"):
        sliding_windows(np.zeros((3, 2)), 1)
    with pytest.raises(ValueError, match="window must be"):
        sliding_windows(np.arange(5.0), 5)


def test_persistence_rmse():
    values = np.array([1.0, 3.0, 2.0, 6.0])
    assert persistence_rmse(values, 2) == pytest.approx(np.sqrt((1 + 16) / 2))
    with pytest.raises(ValueError, match="start must be >= 1"):
        persistence_rmse(values, 0)
