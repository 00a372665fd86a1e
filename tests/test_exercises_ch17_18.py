"""Chapters 17 and 18's exercise checks pass the worked solutions (test_chapter_solutions.py), report a
placeholder as not attempted, and reject the typical wrong answers with a hint."""
import numpy as np
import pytest
import torch

from dlcourse.checks import CheckError
from dlcourse.exercises.chapters import ch17_rnn, ch18_lstm_gru


def _rnn(x, h0, W_ih, W_hh, b_ih, b_hh, act=torch.tanh, use_bhh=True, keep_h0=False, transpose=True, carry=True):
    h, outs = h0, [h0] if keep_h0 else []
    for x_t in x:
        w_ih, w_hh = (W_ih.T, W_hh.T) if transpose else (W_ih, W_hh)
        prev = h if carry else h0
        h = act(x_t @ w_ih + b_ih + prev @ w_hh + (b_hh if use_bhh else 0))
        outs.append(h)
    return torch.stack(outs[:len(x)])


def _jacobian(x, h_prev, W_ih, W_hh, b, at_prev=False, no_tanh=False, columns=False):
    h = torch.tanh(W_ih @ x + W_hh @ h_prev + b)
    d = 1 - (h_prev if at_prev else h) ** 2
    if no_tanh:
        return W_hh
    return W_hh * d[None, :] if columns else d[:, None] * W_hh


def _gru(x, h, W_ih, W_hh, b_ih, b_hh, cho=False, swap_z=False):
    x_r, x_z, x_n = (x @ W_ih.T + b_ih).chunk(3, -1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, -1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    if cho:   # reset before the bias: r * (W_hn h) + b_hn
        n = torch.tanh(x_n + r * (h @ W_hh[-h.shape[1]:].T) + b_hh[-h.shape[1]:])
    else:
        n = torch.tanh(x_n + r * h_n)
    return z * n + (1 - z) * h if swap_z else (1 - z) * n + z * h


def _count(i, H, L, bi, one_bias=False, layer2_reads_h=False):
    D, total = (2 if bi else 1), 0
    for layer in range(L):
        inputs = i if layer == 0 else (H if layer2_reads_h else D * H)
        total += D * (4 * H * (inputs + H) + (1 if one_bias else 2) * 4 * H)
    return total


def _pool(o, lengths, fill=float("-inf"), mask=True):
    if not mask:
        return o.amax(1)
    padded = (torch.arange(o.shape[1])[None, :] >= lengths[:, None])[..., None]
    return o.masked_fill(padded, fill).amax(1)


RIGHT = [
    (ch17_rnn.check_rnn_forward, _rnn),
    (ch17_rnn.check_step_jacobian, _jacobian),
    (ch17_rnn.check_persistence_rmse, lambda v, s: float(np.sqrt(np.mean((v[s:] - v[s - 1:-1]) ** 2)))),
    (ch18_lstm_gru.check_gru_cell, _gru),
    (ch18_lstm_gru.check_lstm_parameter_count, _count),
    (ch18_lstm_gru.check_masked_max_pool, _pool),
]


@pytest.mark.parametrize("check, answer", RIGHT, ids=lambda f: getattr(f, "__name__", "lambda"))
def test_right_answers_pass_and_placeholders_are_reported(check, answer, capsys):
    check(answer)
    assert "OK" in capsys.readouterr().out
    check(lambda *args: None)
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize("check, wrong", [
    (ch17_rnn.check_rnn_forward, lambda *a: _rnn(*a, use_bhh=False)),
    (ch17_rnn.check_rnn_forward, lambda *a: _rnn(*a, act=torch.relu)),
    (ch17_rnn.check_rnn_forward, lambda *a: _rnn(*a, keep_h0=True)),
    (ch17_rnn.check_rnn_forward, lambda *a: _rnn(*a, carry=False)),
    (ch17_rnn.check_step_jacobian, lambda *a: _jacobian(*a, at_prev=True)),
    (ch17_rnn.check_step_jacobian, lambda *a: _jacobian(*a, no_tanh=True)),
    (ch17_rnn.check_step_jacobian, lambda *a: _jacobian(*a, columns=True)),
    (ch17_rnn.check_persistence_rmse, lambda v, s: float(np.mean(np.abs(v[s:] - v[s - 1:-1])))),
    (ch17_rnn.check_persistence_rmse, lambda v, s: float(np.sqrt(np.mean((v[1:] - v[:-1]) ** 2)))),
    (ch18_lstm_gru.check_gru_cell, lambda *a: _gru(*a, cho=True)),
    (ch18_lstm_gru.check_gru_cell, lambda *a: _gru(*a, swap_z=True)),
    (ch18_lstm_gru.check_lstm_parameter_count, lambda *a: _count(*a, one_bias=True)),
    (ch18_lstm_gru.check_lstm_parameter_count, lambda *a: _count(*a, layer2_reads_h=True)),
    (ch18_lstm_gru.check_masked_max_pool, lambda o, n: _pool(o, n, fill=0.0)),
    (ch18_lstm_gru.check_masked_max_pool, lambda o, n: _pool(o, n, mask=False)),
], ids=["rnn-no-bhh", "rnn-relu", "rnn-keeps-h0", "rnn-no-carry", "jac-at-prev", "jac-no-tanh", "jac-columns",
        "persist-mae", "persist-all-years", "gru-cho-form", "gru-z-swapped", "lstm-one-bias", "lstm-layer2-H",
        "pool-fill-0", "pool-no-mask"])
def test_typical_mistakes_fail_with_a_hint(check, wrong):
    with pytest.raises(CheckError) as err:
        check(wrong)
    assert len(str(err.value)) > 80, "the message should carry the hint"
