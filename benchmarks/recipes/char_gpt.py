"""A character-level GPT on Tiny Shakespeare: validation loss in under 15 minutes of a 2-core CPU.

Data: Tiny Shakespeare (dlcourse.data.load_tinyshakespeare), one token per character (65), the
first 90% trains and the last 10% validates (nanoGPT's shakespeare_char split). Windows of 128
characters at random starts, batches of 32 (dlcourse.data.window_loader).

Model (dlcourse.models.gpt.GPT, proven equal to transformers' GPT-2 in tests/test_gpt.py): 4 pre-LN
blocks of width 128 with 4 heads, learned positions, the head tied to the token embedding: 0.82M
weights. AdamW (lr 2e-3, betas 0.9/0.99, weight decay 0.1), 100 warmup steps then a cosine decay to
a tenth, 3,600 steps, gradient norm clipped at 1, no dropout (the model is small for the text).
The validation loss is measured on 40 fixed batches after each of 8 equal stretches of steps.

Target: issue 18 asks for 1.47 in under 15 minutes. Anchor: nanoGPT's shakespeare_char GPU
config (6 x 384, 10.7M weights, 5,000 steps of 64 x 256) reaches 1.4697, its CPU config
(4 x 128, block 64, 2,000 steps of 12) about 1.88 in ~3 minutes.
"""
from __future__ import annotations

import time

import torch

import dlcourse
from dlcourse.data import CharTokenizer, load_tinyshakespeare, split_stream, window_loader
from dlcourse.device import describe_device
from dlcourse.models.gpt import GPT, GPTConfig
from dlcourse.schedules import as_scheduler, cosine_decay, linear_warmup

METRIC = "Tiny Shakespeare validation loss (character GPT, 0.82M weights)"
TARGET = 1.47
BETTER = "lower"
ANCHOR = "nanoGPT shakespeare_char: 1.4697 (GPU config, 10.7M weights); ~1.88 (its CPU config)"
BLOCK, BATCH, STEPS, STRETCHES, WARMUP = 128, 32, 3_600, 8, 100


def run(steps: int = STEPS, seed: int = 0) -> dict:
    device = dlcourse.setup(seed=seed)
    text = load_tinyshakespeare()
    tok = CharTokenizer(text)
    train, val = split_stream(torch.tensor(tok.encode(text)))
    torch.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=len(tok), block_size=BLOCK, n_layer=4, n_head=4, n_embd=128, dropout=0.0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, betas=(0.9, 0.99), weight_decay=0.1)
    schedule = as_scheduler(optimizer, linear_warmup, warmup_steps=WARMUP,
                            then=lambda s: cosine_decay(s, total_steps=steps - WARMUP, min_factor=0.1))
    start = time.perf_counter()
    h = dlcourse.fit(model, window_loader(train, BLOCK, BATCH, steps // STRETCHES, seed=seed), optimizer,
                     epochs=STRETCHES, step=lambda m, batch: m(*batch)[1], metrics=(), scheduler=schedule,
                     scheduler_interval="step", val_loader=window_loader(val, BLOCK, BATCH, 40, seed=1000),
                     clip_grad=1.0, device=device, progress=False, live_plot=False, log_every=100)
    total = time.perf_counter() - start
    curve = [float(v) for v in h["val_loss"]]
    sample = model.generate(torch.tensor([tok.encode("ROMEO:\n")], device=device), 200, temperature=0.8, top_k=20,
                            generator=torch.Generator(device).manual_seed(0))
    machine = f"{device}: {describe_device(device)}, torch threads: {torch.get_num_threads()}"
    print(f"  validation loss per stretch {[round(v, 3) for v in curve]}, {total:.0f} s\n{tok.decode(sample[0])}")
    return {"value": curve[-1], "curve": curve, "epoch_seconds": h["time"], "machine": machine,
            "notes": f"{steps} steps of {BATCH} x {BLOCK} characters; validation loss after each eighth "
                     f"{[round(v, 3) for v in curve]}; training {total:.0f} s"}
