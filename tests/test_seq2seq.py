"""Sequence-to-sequence pieces: the toy translation data, additive attention, the two seq2seq models,
greedy and beam search (beam search == exhaustive search when the beam holds every hypothesis)."""
import itertools
import math

import pytest
import torch
import torch.nn as nn

from dlcourse.checks import check_close
from dlcourse.data.toy_translation import (BOS, EOS, PAD, Vocab, number_to_words, number_words, pad_batch,
                                           reversed_digits)
from dlcourse.models.attention import AdditiveAttention, capture_attention
from dlcourse.models.decoding import beam_search, greedy_decode, sequence_accuracy
from dlcourse.models.seq2seq import BahdanauSeq2Seq, Seq2SeqTransformer, translation_eval_step, translation_step


# ----------------------------------------------------------------------------- data
@pytest.mark.parametrize("n, words", [
    (0, "zero"), (7, "seven"), (13, "thirteen"), (20, "twenty"), (45, "forty five"), (100, "one hundred"),
    (110, "one hundred ten"), (1000, "one thousand"), (1001, "one thousand one"),
    (1234, "one thousand two hundred thirty four"), (20015, "twenty thousand fifteen"),
    (100000, "one hundred thousand"), (999999, "nine hundred ninety nine thousand nine hundred ninety nine")])
def test_number_to_words(n, words):
    assert " ".join(number_to_words(n)) == words


def test_number_to_words_range_is_checked():
    with pytest.raises(ValueError, match="999,999"):
        number_to_words(1_000_000)


def test_splits_are_disjoint_deterministic_and_encoded():
    train, test = number_words(3000, 500)
    assert not {tuple(x) for x in train.inputs} & {tuple(x) for x in test.inputs}
    again, _ = number_words(3000, 500)
    assert train.inputs == again.inputs
    bigger, same_test = number_words(4000, 500)                   # the held-out numbers do not move
    assert same_test.inputs == test.inputs
    src, tgt = train[0]
    assert train.src_vocab.decode(src) == train.inputs[0] and train.tgt_vocab.decode(tgt) == train.outputs[0]
    assert tgt[0] == BOS and tgt[-1] == EOS
    r_train, r_test = reversed_digits(300, 50, length=(3, 5))
    assert not set(map(tuple, r_train.inputs)) & set(map(tuple, r_test.inputs))
    assert all(y == x[::-1] and 3 <= len(x) <= 5 for x, y in zip(r_train.inputs, r_train.outputs))


def test_pad_batch_and_vocab_errors():
    src, tgt = pad_batch([(torch.tensor([5, 6, 7]), torch.tensor([1, 4, 2])), (torch.tensor([5]), torch.tensor([1, 2]))])
    assert src.tolist() == [[5, 6, 7], [5, PAD, PAD]] and tgt.tolist() == [[1, 4, 2], [1, 2, PAD]]
    with pytest.raises(ValueError, match="not in the vocabulary"):
        Vocab(("<pad>", "<bos>", "<eos>", "a")).encode(["a", "b"])


# ----------------------------------------------------------------------------- additive attention
@torch.no_grad()
def test_additive_attention_follows_the_papers_formula_and_masks_padding():
    torch.manual_seed(0)
    att = AdditiveAttention(5, 6, 7)
    for p in att.parameters():
        nn.init.normal_(p, std=0.5)
    q, keys, pad = torch.randn(2, 3, 5), torch.randn(2, 4, 6), torch.tensor([[False] * 4, [False, False, True, True]])
    context, weights = att(q, keys, key_padding_mask=pad)
    W, U, b, v = att.query_proj.weight, att.key_proj.weight, att.key_proj.bias, att.score.weight[0]
    for n, i, j in itertools.product(range(2), range(3), range(4)):      # one score at a time, as written
        e = float(v @ torch.tanh(W @ q[n, i] + U @ keys[n, j] + b)) if not pad[n, j] else 0.0
        expected = 0.0 if pad[n, j] else math.exp(e) / sum(
            math.exp(float(v @ torch.tanh(W @ q[n, i] + U @ keys[n, k] + b))) for k in range(4) if not pad[n, k])
        assert abs(float(weights[n, i, j]) - expected) < 1e-6
    check_close("context", context, weights @ keys, verbose=False)
    single_context, single_weights = att(q[:, 0], keys, key_padding_mask=pad)    # one query per row: (N, Dq)
    check_close("single query", single_weights, weights[:, 0], verbose=False)
    with pytest.raises(ValueError, match="True at padding"):
        att(q, keys, key_padding_mask=pad.T)


# ----------------------------------------------------------------------------- the models
def _batch():
    train, _ = number_words(64, 8, max_number=9999)
    return pad_batch([train[i] for i in range(6)])


@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
def test_transformer_decode_prefix_equals_teacher_forcing(positions):
    """The causal mask at work: logits for position t do not depend on targets after t."""
    torch.manual_seed(0)
    src, tgt = _batch()
    model = Seq2SeqTransformer(13, 33, d_model=32, nhead=4, dim_feedforward=64, dropout=0.0, positions=positions).eval()
    full = model(src, tgt)
    state = model.encode(src)
    for t in (1, 3, tgt.size(1)):
        check_close(f"prefix {t}", model.decode(tgt[:, :t], state), full[:, :t], atol=1e-5, verbose=False)
    changed = tgt.clone()
    changed[:, -1] = 5                                      # the future changes, the past does not
    check_close("past", model(src, changed)[:, :-1], full[:, :-1], atol=1e-5, verbose=False)


def test_source_padding_changes_nothing():
    torch.manual_seed(0)
    src, tgt = _batch()
    for model in (Seq2SeqTransformer(13, 33, d_model=32, nhead=4, dim_feedforward=64, dropout=0.0).eval(),
                  BahdanauSeq2Seq(13, 33, 8, 16)):
        padded = torch.cat([src, torch.full((src.size(0), 3), PAD)], 1)
        check_close(type(model).__name__, model(padded, tgt), model(src, tgt), atol=1e-5, verbose=False)


def test_bahdanau_keeps_an_alignment_that_sums_to_one_over_real_tokens():
    torch.manual_seed(0)
    src, tgt = _batch()
    model = BahdanauSeq2Seq(13, 33, 8, 16)
    model(src, tgt)
    a = model.last_attention
    assert a.shape == (src.size(0), tgt.size(1), src.size(1))
    check_close("rows", a.sum(-1), torch.ones(a.shape[:2]), verbose=False)
    assert a.masked_select((src == PAD).unsqueeze(1).expand_as(a)).eq(0).all()


def test_translation_steps_count_real_tokens_and_whole_sentences():
    torch.manual_seed(0)
    src, tgt = _batch()
    model = Seq2SeqTransformer(13, 33, d_model=32, nhead=4, dim_feedforward=64)
    values = translation_step(model, (src, tgt))
    assert int(values["n"]) == int((tgt[:, 1:] != PAD).sum()) and 0 <= float(values["token_accuracy"]) <= 1
    values = translation_eval_step(12)(model, (src, tgt))
    assert int(values["n"]) == src.size(0) and 0 <= float(values["sequence_accuracy"]) <= 1


def test_bad_ids_get_a_clear_error():
    model = Seq2SeqTransformer(13, 33, d_model=32, nhead=4, dim_feedforward=64)
    src, tgt = _batch()
    with pytest.raises(ValueError, match="source and target swapped"):
        model(tgt, src)
    with pytest.raises(ValueError, match="dtype long"):
        model(src.float(), tgt)
    with pytest.raises(ValueError, match="positions"):
        Seq2SeqTransformer(13, 33, positions="rotary")


def test_capture_attention_records_every_layers_weights_per_head():
    torch.manual_seed(0)
    src, tgt = _batch()
    model = Seq2SeqTransformer(13, 33, d_model=32, nhead=4, dim_feedforward=64, dropout=0.0).eval()
    with capture_attention(model) as maps:
        out = model(src, tgt)
    assert len(maps) == 6
    cross = maps["transformer.decoder.layers.1.multihead_attn"][0]
    assert cross.shape == (6, 4, tgt.size(1), src.size(1))
    check_close("rows sum to 1", cross.sum(-1), torch.ones(cross.shape[:3]), verbose=False)
    assert cross.masked_select((src == PAD)[:, None, None].expand_as(cross)).eq(0).all()
    decoder_self = maps["transformer.decoder.layers.0.self_attn"][0]
    assert decoder_self.triu(1).eq(0).all()                          # causal: nothing above the diagonal
    check_close("hooks change nothing", model(src, tgt), out, verbose=False)
    with capture_attention(model) as again:
        pass
    model(src, tgt)
    assert again == {}                                               # the hooks are gone after the block


# ----------------------------------------------------------------------------- decoding
class MarkovModel(nn.Module):
    """A 'model' whose next-token log-probabilities depend on the last token only: a fixed table."""

    def __init__(self, table):
        super().__init__()
        self.table = torch.as_tensor(table, dtype=torch.float).log()

    def encode(self, src):
        return (src.float(),)

    def decode(self, ys, state):
        return self.table[ys]                                         # (N, T, V)


# ids: 0 pad, 1 bos, 2 eos, 3 "a", 4 "b". Greedy takes "a" (0.6) first, but "a" leads nowhere good;
# "b" (0.4) ends at once with probability 0.9: greedy's best is a a <eos>, beam's is b <eos>.
TRAP = [[0, 0, 0, 0, 0],
        [0, 0, 0.0, 0.6, 0.4],          # after <bos>
        [0, 0, 1.0, 0, 0],              # after <eos> (unused)
        [0, 0, 0.3, 0.4, 0.3],          # after a
        [0, 0, 0.9, 0.05, 0.05]]        # after b


def _log_prob(table, seq):
    return sum(math.log(table[a][b]) for a, b in zip(seq, seq[1:]))


def test_beam_search_escapes_the_greedy_trap():
    model, src = MarkovModel(TRAP), torch.zeros(1, 1, dtype=torch.long)
    greedy = greedy_decode(model, src, max_len=4)[0].tolist()
    assert greedy[:3] == [BOS, 3, 3]
    best, score = beam_search(model, src, beam_size=2, max_len=4)
    assert best[0].tolist()[:3] == [BOS, 4, EOS]
    assert float(score) == pytest.approx(math.log(0.4 * 0.9), abs=1e-6)
    one, _ = beam_search(model, src, beam_size=1, max_len=4)
    assert one[0].tolist()[: len(greedy)] == greedy                  # a beam of one is greedy search


def test_a_wide_beam_is_exhaustive_search():
    g = torch.Generator().manual_seed(0)
    table = torch.rand(6, 6, generator=g) + 0.05
    table[:, :2] = 0                                                  # never <pad> or <bos>
    table = (table / table.sum(1, keepdim=True)).tolist()
    max_len = 3
    candidates = [[BOS, *mid, EOS] for n in range(max_len) for mid in itertools.product([3, 4, 5], repeat=n)]
    for alpha in (0.0, 1.0):
        def score(seq):
            return _log_prob(table, seq) / (((5 + len(seq) - 1) / 6) ** alpha if alpha else 1)
        best = max(candidates, key=score)
        got, got_score = beam_search(MarkovModel(table), torch.zeros(1, 1, dtype=torch.long), beam_size=40,
                                     max_len=max_len, length_penalty=alpha)
        assert got[0].tolist()[: len(best)] == best and float(got_score) == pytest.approx(score(best), abs=1e-5)


def test_batched_beam_search_equals_one_source_at_a_time():
    torch.manual_seed(0)
    src, _ = _batch()
    model = Seq2SeqTransformer(13, 33, d_model=32, nhead=4, dim_feedforward=64, dropout=0.0)
    together, scores = beam_search(model, src, beam_size=3, max_len=8)
    for i in range(src.size(0)):
        alone, score = beam_search(model, src[i:i + 1], beam_size=3, max_len=8)
        check_close(f"score {i}", score, scores[i:i + 1], atol=1e-5, verbose=False)
        assert torch.equal(alone, together[i:i + 1, : alone.size(1)]) and together[i, alone.size(1):].eq(PAD).all()


def test_sequence_accuracy_compares_up_to_eos():
    target = torch.tensor([[1, 5, 6, 2, 0], [1, 5, 2, 0, 0], [1, 7, 2, 0, 0]])
    predicted = torch.tensor([[1, 5, 6, 2], [1, 5, 6, 2], [1, 7, 7, 7]])
    assert sequence_accuracy(predicted, target).tolist() == [True, False, False]
