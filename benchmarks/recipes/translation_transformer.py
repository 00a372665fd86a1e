"""A Transformer translates numbers into English words, exactly, for numbers it never saw.

The task (``dlcourse.data.toy_translation.number_words``): the digits of a number in 0..999,999
to its English words, "20015" -> "twenty thousand fifteen". 20,000 numbers train; 2,000 other
numbers (no overlap) are held out. The metric is exact-sequence accuracy of greedy decoding on
the held-out numbers: a translation counts only if every word and the end are right.

Anchor: the architecture of Vaswani et al. 2017 (encoder-decoder, post-LN, sinusoidal
positions, embeddings x sqrt(d_model), Adam with beta2 = 0.98, warmup, label smoothing 0.1) at
toy size: d_model 128, 4 heads, 2 + 2 layers, feed-forward 512, dropout 0.1 (about 0.8 M
weights). The model is ``dlcourse.models.Seq2SeqTransformer`` on ``dlcourse.models.Transformer``
(== nn.Transformer), trained by ``dlcourse.fit``. No published number exists for this toy task:
the target, 95% exact on held-out inputs, is the course's.
"""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader

import dlcourse
from dlcourse.data.toy_translation import number_words, pad_batch
from dlcourse.device import describe_device
from dlcourse.models.seq2seq import Seq2SeqTransformer, translation_eval_step, translation_step

METRIC = "held-out exact-sequence accuracy, numbers -> English words (greedy)"
TARGET = 0.95
BETTER = "higher"
ANCHOR = "Vaswani et al. 2017 architecture, toy size; target is the course's (no published number)"
EPOCHS, BATCH, PEAK_LR, WARMUP = 12, 128, 1e-3, 300
N_TRAIN, N_TEST, MAX_OUT = 20_000, 2_000, 14     # the longest translation has 10 words + <eos>


def run() -> dict:
    device = dlcourse.setup(seed=0)
    train_set, test_set = number_words(N_TRAIN, N_TEST)
    loader = DataLoader(train_set, BATCH, shuffle=True, collate_fn=pad_batch,
                        generator=torch.Generator().manual_seed(0))
    held_out = DataLoader(test_set, len(test_set), collate_fn=pad_batch)   # one batch: exact averages
    model = Seq2SeqTransformer(len(train_set.src_vocab), len(train_set.tgt_vocab), d_model=128, nhead=4,
                               num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=512, dropout=0.1)
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
    machine = f"{device}: {describe_device(device)}, torch threads: {torch.get_num_threads()}"
    params = sum(p.numel() for p in model.parameters())
    return {"value": history.last("val_sequence_accuracy"), "curve": history["val_sequence_accuracy"],
            "epoch_seconds": history["time"], "machine": machine,
            "notes": f"{params:,} weights; {N_TRAIN:,} training numbers, {N_TEST:,} held out; {EPOCHS} epochs; "
                     f"final held-out token accuracy {history.last('val_token_accuracy'):.4f}"}
