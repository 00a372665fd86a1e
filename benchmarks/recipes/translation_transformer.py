"""A Transformer translates numbers into English words, exactly, for numbers it never saw.

The task (``dlcourse.data.toy_translation.number_words``): the digits of a number in 0..999,999
to its English words, "20015" -> "twenty thousand fifteen". 15,000 numbers train; 1,000 other
numbers (no overlap) are held out. The metric is exact-sequence accuracy of greedy decoding on
the held-out numbers: a translation counts only if every word and the end are right (beam
search's accuracy, width 4, is reported beside it).

Anchor: the architecture of Vaswani et al. 2017 (encoder-decoder, post-LN, sinusoidal
positions, embeddings x sqrt(d_model), Adam with beta2 = 0.98, warmup, label smoothing 0.1) at
toy size: d_model 64, 4 heads, 2 + 2 layers, feed-forward 256, dropout 0.1 (about 0.2 M
weights; d_model 128 also works but took 0.46 s a step on the shared 2-core CPU). The model is ``dlcourse.models.Seq2SeqTransformer`` on ``dlcourse.models.Transformer``
(== nn.Transformer), trained by ``dlcourse.fit``. No published number exists for this toy task:
the target, 95% exact on held-out inputs, is the course's.
"""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader

import dlcourse
from dlcourse.data.toy_translation import number_words, pad_batch
from dlcourse.device import describe_device
from dlcourse.models.decoding import beam_search, sequence_accuracy
from dlcourse.models.seq2seq import Seq2SeqTransformer, translation_eval_step, translation_step

METRIC = "held-out exact-sequence accuracy, numbers -> English words (greedy)"
TARGET = 0.95
BETTER = "higher"
ANCHOR = "Vaswani et al. 2017 architecture, toy size; target is the course's (no published number)"
EPOCHS, BATCH, PEAK_LR, WARMUP = 10, 128, 2e-3, 200
N_TRAIN, N_TEST, MAX_OUT = 15_000, 1_000, 14     # the longest translation has 10 words + <eos>
D_MODEL, HEADS, LAYERS, FFN = 64, 4, 2, 256


def run() -> dict:
    device = dlcourse.setup(seed=0)
    train_set, test_set = number_words(N_TRAIN, N_TEST)
    loader = DataLoader(train_set, BATCH, shuffle=True, collate_fn=pad_batch,
                        generator=torch.Generator().manual_seed(0))
    held_out = DataLoader(test_set, len(test_set), collate_fn=pad_batch)   # one batch: exact averages
    model = Seq2SeqTransformer(len(train_set.src_vocab), len(train_set.tgt_vocab), d_model=D_MODEL, nhead=HEADS,
                               num_encoder_layers=LAYERS, num_decoder_layers=LAYERS, dim_feedforward=FFN,
                               dropout=0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=PEAK_LR, betas=(0.9, 0.98), eps=1e-9)
    total = EPOCHS * len(loader)
    # Linear warmup, then cosine decay (the paper decays as 1/sqrt(step); cosine ends at a low rate in few epochs).
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=PEAK_LR, total_steps=total,
                                                    pct_start=WARMUP / total, anneal_strategy="cos")
    history = dlcourse.fit(model, loader, optimizer, epochs=EPOCHS,
                           step=lambda m, b: translation_step(m, b, label_smoothing=0.1),
                           val_step=translation_eval_step(MAX_OUT), val_loader=held_out, scheduler=scheduler,
                           scheduler_interval="step", device=device, progress=False, live_plot=False)
    for epoch, (acc, seconds) in enumerate(zip(history["val_sequence_accuracy"], history["time"]), 1):
        print(f"epoch {epoch:2d}: held-out exact {acc:.4f}, token accuracy "
              f"{history['val_token_accuracy'][epoch - 1]:.4f}, {seconds:.0f} s", flush=True)
    src, tgt = (t.to(device) for t in next(iter(held_out)))
    beam, _ = beam_search(model, src, beam_size=4, max_len=MAX_OUT)       # reported beside greedy, not the metric
    beam_accuracy = float(sequence_accuracy(beam, tgt).float().mean())
    print(f"held-out exact: greedy {history.last('val_sequence_accuracy'):.4f}, beam search (k = 4) "
          f"{beam_accuracy:.4f}", flush=True)
    machine = f"{device}: {describe_device(device)}, torch threads: {torch.get_num_threads()}"
    params = sum(p.numel() for p in model.parameters())
    return {"value": history.last("val_sequence_accuracy"), "curve": history["val_sequence_accuracy"],
            "epoch_seconds": history["time"], "machine": machine,
            "notes": f"{params:,} weights; {N_TRAIN:,} training numbers, {N_TEST:,} held out; {EPOCHS} epochs; "
                     f"final held-out token accuracy {history.last('val_token_accuracy'):.4f}; "
                     f"beam search (k = 4) exact {beam_accuracy:.4f}"}
