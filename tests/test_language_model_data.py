"""dlcourse.data.language_model: characters as tokens, windows and their next-token targets."""
import pytest
import torch

from dlcourse.data import CharTokenizer, NextTokenWindows, split_stream, window_loader


def test_char_tokenizer_round_trips_and_names_unknown_characters():
    tok = CharTokenizer("hello world")
    assert tok.itos == sorted(set("hello world")) and len(tok) == 8
    assert tok.decode(tok.encode("world hello")) == "world hello"
    assert tok.decode(torch.tensor(tok.encode("low"))) == "low"
    with pytest.raises(ValueError, match=r"\['z'\] are not in its 8 characters"):
        tok.encode("zoo")


def test_each_window_is_followed_by_its_target():
    ids = torch.arange(10)
    windows = NextTokenWindows(ids, 4)
    assert len(windows) == 6
    x, y = windows[5]
    assert x.tolist() == [5, 6, 7, 8] and y.tolist() == [6, 7, 8, 9]
    with pytest.raises(ValueError, match="holds no window"):
        NextTokenWindows(ids, 10)


def test_split_is_contiguous_and_the_loader_draws_a_fixed_number_of_seeded_batches():
    train, val = split_stream(torch.arange(100))
    assert train.tolist() == list(range(90)) and val.tolist() == list(range(90, 100))
    batches = list(window_loader(train, 8, batch_size=4, steps=5, seed=3))
    assert len(batches) == 5 and batches[0][0].shape == (4, 8)
    assert all(torch.equal(x[:, 1:], y[:, :-1]) for x, y in batches)
    again = list(window_loader(train, 8, batch_size=4, steps=5, seed=3))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again))
    other = list(window_loader(train, 8, batch_size=4, steps=5, seed=4))
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(batches, other))
