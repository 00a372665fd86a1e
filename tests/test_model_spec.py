"""dlcourse.model_spec: a student's design crosses as data and is rebuilt here, equal to itself,
and a hostile spec is refused before it computes or allocates anything (issue 16 items 1 and 7)."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from dlcourse.checks import check_close
from dlcourse.exercises.assignments import a05_custom_cnn as a05
from dlcourse.checks import CheckError
from dlcourse.model_spec import MAX_KEPT, MAX_LITERALS, ModelSpecError, export_spec, initialised, rebuild
from dlcourse.profiling import count_params


class SeparableSE(nn.Module):
    """Depthwise-separable convolutions, squeeze-and-excitation, a residual, dropout, a view on x.size(0)."""

    def __init__(self, num_classes=4):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.SiLU())
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.pw = nn.Conv2d(16, 32, 1)
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(32, 8, 1), nn.ReLU(), nn.Conv2d(8, 32, 1),
                                nn.Sigmoid())
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(32 * 4 * 4, num_classes)

    def forward(self, x):
        x = self.stem(x)
        y = self.pw(self.dw(x) + x)
        y = y * self.se(y)
        y = nn.functional.max_pool2d(y, 4)
        return self.head(self.drop(y.view(y.size(0), -1)))


class NormHead(a05.BaselineCNN):
    def __init__(self, num_classes=4):
        super().__init__(num_classes)
        self.norm = nn.BatchNorm1d(64)

    def forward(self, x):
        return self.fc(self.norm(self.features(x).mean(dim=(2, 3))))


@pytest.mark.parametrize("design", [a05.BaselineCNN, SeparableSE, NormHead], ids=["baseline", "separable-se", "bn1d"])
def test_a_rebuilt_design_equals_the_model_in_both_modes(design):
    torch.manual_seed(0)
    model = design(4)
    spec = export_spec(model, torch.randn(8, 3, 32, 32))
    ours = rebuild(spec)
    assert count_params(ours) == count_params(model)
    x = torch.randn(6, 3, 32, 32)
    for train in (True, False):
        model.train(train), ours.train(train)
        torch.manual_seed(1)
        a = model(x)
        torch.manual_seed(1)
        b = ours(x)
        check_close(f"output (train={train})", b, a, atol=0, rtol=0, verbose=False)
        a.square().sum().backward(), b.square().sum().backward()
        for p, q in zip(model.parameters(), ours.parameters()):
            check_close("gradient", q.grad, p.grad, atol=0, rtol=0, verbose=False)
        model.zero_grad(), ours.zero_grad()
    # training mode moved the running statistics the same way in both
    bn = [b for b in model.buffers() if b.dtype.is_floating_point]
    rebuilt = [b for b in ours.buffers() if b.dtype.is_floating_point]
    assert all(torch.equal(p, q) for p, q in zip(bn, rebuilt))


def test_a_model_that_lies_about_itself_is_counted_by_what_it_is():
    """The table's a05 attack: parameters() and forward that lie when measured. The spec holds the
    tensors the traced graph reads, and the rebuilt module runs the graph, not the student's methods."""
    class Liar(a05.BaselineCNN):
        def parameters(self, recurse=True):
            return iter([])

    class DeepLiar(a05.BaselineCNN):
        def named_parameters(self, *args, **kwargs):
            return iter([])

    model = Liar(4)
    assert count_params(model) == 0
    assert count_params(rebuild(export_spec(model, torch.randn(8, 3, 32, 32)))) == 39_196
    assert a05.measure(Liar)["n_params"] == 39_196
    # named_parameters() hidden: TorchDynamo's trace lifts the weights as constants; the layers that
    # take them make them parameters again, counted and trained as what they are
    assert count_params(rebuild(export_spec(DeepLiar(4), torch.randn(8, 3, 32, 32)))) == 39_196
    assert a05.measure(DeepLiar)["n_params"] == 39_196


def _spec():
    return export_spec(a05.BaselineCNN(4), torch.randn(8, 3, 32, 32))


def _with_node(spec, node, mode="train"):
    spec = copy.deepcopy(spec)
    graph = spec["graphs"][mode]
    graph["nodes"].append(node)
    graph["output"] = [{"node": len(graph["inputs"]) + len(graph["nodes"]) - 1}]
    return spec


def test_hostile_specs_are_refused_in_words():
    spec = _spec()
    n = len(spec["graphs"]["train"]["inputs"]) + len(spec["graphs"]["train"]["nodes"]) - 1
    cases = [
        (_with_node(spec, ["aten.from_file.default", ["/etc/passwd"], {}]), "aten.from_file.default, which the grader"),
        (_with_node(spec, ["builtins.eval", ["1"], {}]), "builtins.eval, which the grader does not run"),
        (_with_node(spec, ["aten.expand.default", [{"node": n}, [1_000_000, 64, 4]], {}]),
         "more than the 33,554,432 the grader allows"),
        (_with_node(spec, ["aten.relu.default", [{"node": 10**6}], {}]), "an argument {'node': 1000000}"),
        (_with_node(spec, ["aten.relu.default", [{"pickle": "cos\nsystem"}], {}]), "the spec does not define"),
        ({**spec, "version": 0}, "not a model spec of this course's version"),
        ({**spec, "tensors": {**spec["tensors"], "extra": torch.zeros(2**25 + 1)}}, "hold more than"),
        ({**spec, "parameters": ["nowhere"]}, "parameters must name its tensors"),
        ("import os", "not a model spec"),
    ]
    for bad, words in cases:
        with pytest.raises(ModelSpecError) as info:
            rebuild(bad)
        assert words in str(info.value), (words, str(info.value))


def test_the_size_check_runs_before_anything_is_allocated(monkeypatch):
    """A spec asking for a 400 GB tensor is refused on the meta device, in milliseconds."""
    import time

    spec = _spec()
    n = len(spec["graphs"]["eval"]["inputs"]) + len(spec["graphs"]["eval"]["nodes"]) - 1
    huge = _with_node(spec, ["aten.expand.default", [{"node": n}, [10**7, 10**4]], {}], mode="eval")
    huge["graphs"]["eval"]["nodes"].append(["aten.clone.default", [{"node": n + 1}], {}])
    start = time.perf_counter()
    with pytest.raises(ModelSpecError, match="eval graph fails|grader allows"):
        rebuild(huge)
    assert time.perf_counter() - start < 5


def test_a_model_that_branches_on_values_is_told_why_it_cannot_be_traced():
    class Branches(a05.BaselineCNN):
        def forward(self, x):
            return super().forward(x) if x.sum() > 0 else -super().forward(x)

    with pytest.raises(ModelSpecError, match="not on the values of a tensor"):
        export_spec(Branches(4), torch.randn(8, 3, 32, 32))


# ----------------------------------------------------------------------------- the grader's initialisation
class TableInAParameter(a05.BaselineCNN):
    """The attack the grader's initialisation closes: a lookup table of 800 "test images" (random
    keys here) carried as a parameter that no layer takes, read by nearest match."""
    def __init__(self, num_classes=4):
        super().__init__(num_classes)
        self.keys = nn.Parameter(torch.randn(800, 3 * 32 * 32))
        self.answers = nn.Parameter(torch.randn(800, num_classes))

    def forward(self, x):
        match = torch.softmax(1e3 * (x.flatten(1) @ self.keys.t()), dim=-1)
        return super().forward(x) + match @ self.answers


class TableInALayer(a05.BaselineCNN):
    """The same table in the weights of a Linear layer: the grader draws those afresh."""
    def __init__(self, num_classes=4):
        super().__init__(num_classes)
        self.keys = nn.Linear(3 * 32 * 32, 800, bias=False)

    def forward(self, x):
        match = torch.softmax(1e3 * self.keys(x.flatten(1)), dim=-1)
        return super().forward(x) + match[:, :4]


def test_the_grader_starts_each_layer_as_pytorch_does():
    model = SeparableSE(4)
    for p in model.parameters():       # weights a student's process could have sent: trained, or a table
        nn.init.constant_(p, 3.0)
    spec = export_spec(model, torch.randn(8, 3, 32, 32))
    fresh = initialised(spec, seed=0)["tensors"]
    for name, layer in [("stem.0", model.stem[0]), ("dw", model.dw), ("pw", model.pw), ("se.1", model.se[1]),
                        ("head", model.head)]:
        w = fresh[f"{name}.weight"]
        bound = 1 / nn.init._calculate_fan_in_and_fan_out(layer.weight)[0] ** 0.5
        assert w.abs().max() <= bound and abs(float(w.std()) - bound / 3 ** 0.5) < 0.15 * bound, name
        if layer.bias is not None:
            assert fresh[f"{name}.bias"].abs().max() <= bound and fresh[f"{name}.bias"].std() > 0, name
    assert torch.equal(fresh["stem.1.weight"], torch.ones(16)) and torch.equal(fresh["stem.1.bias"], torch.zeros(16))
    assert torch.equal(fresh["stem.1.running_var"], torch.ones(16)) and int(fresh["stem.1.num_batches_tracked"]) == 0
    again, other = initialised(spec, seed=0)["tensors"], initialised(spec, seed=1)["tensors"]
    assert all(torch.equal(fresh[k], again[k]) for k in fresh), "the same seed draws the same weights"
    assert not torch.equal(fresh["pw.weight"], other["pw.weight"])


def test_a_table_the_grader_would_not_initialise_is_refused_and_one_in_a_layer_is_redrawn():
    with pytest.raises(ModelSpecError, match=r"no convolution, linear, norm, embedding or recurrent layer takes: "
                                             r"keys \(2,457,600 numbers"):
        initialised(export_spec(TableInAParameter(4), torch.randn(8, 3, 32, 32)))
    model = TableInALayer(4)
    spec = initialised(export_spec(model, torch.randn(8, 3, 32, 32)))
    assert not torch.allclose(spec["tensors"]["keys.weight"], model.keys.weight)
    assert spec["tensors"]["keys.weight"].abs().max() <= 1 / 3072 ** 0.5


def test_a_few_numbers_no_layer_takes_are_kept_as_sent():
    class LayerScale(a05.BaselineCNN):
        def __init__(self, num_classes=4):
            super().__init__(num_classes)
            self.scale = nn.Parameter(torch.full((num_classes,), 0.5))

        def forward(self, x):
            return super().forward(x) * self.scale

    spec = initialised(export_spec(LayerScale(4), torch.randn(8, 3, 32, 32)))
    assert torch.equal(spec["tensors"]["scale"], torch.full((4,), 0.5)) and MAX_KEPT >= 4


# ----------------------------------------------------------------------------- recurrent designs (a06-a08)
class LastStepLSTM(nn.Module):
    """a07's design: the LSTM's output at each sentence's last real step."""
    def __init__(self, vocab_size, num_classes=2):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 8, padding_idx=0)
        self.lstm = nn.LSTM(8, 6, num_layers=2, bidirectional=True, dropout=0.25, batch_first=True)
        self.out = nn.Linear(12, num_classes)

    def forward(self, ids, lengths):
        outputs, _ = self.lstm(self.embed(ids))
        return self.out(outputs[torch.arange(ids.shape[0]), lengths - 1])


class MaskedMeanGRU(nn.Module):
    """a08's design: a GRU's outputs averaged over the real steps (a mask built from arange)."""
    def __init__(self, vocab_size, num_classes=6):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 8, padding_idx=0)
        self.gru = nn.GRU(8, 5, batch_first=True)
        self.out = nn.Linear(5, num_classes)

    def forward(self, ids, lengths):
        outputs, _ = self.gru(self.embed(ids))
        mask = (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1).to(outputs.dtype)
        return self.out((outputs * mask).sum(dim=1) / lengths[:, None].to(outputs.dtype))


class LastStateRNN(nn.Module):
    """a06's design on token ids: nn.RNN (tanh, and a ReLU layer above it), its last step's state."""
    def __init__(self, vocab_size, num_classes=3):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 8, padding_idx=0)
        self.rnn = nn.RNN(8, 6, batch_first=True)
        self.relu_rnn = nn.RNN(6, 5, nonlinearity="relu", batch_first=True)
        self.out = nn.Linear(5, num_classes)

    def forward(self, ids, lengths):
        return self.out(self.relu_rnn(self.rnn(self.embed(ids))[0])[1][-1])


def _text_spec(design, vocab=40):
    from dlcourse.exercises.assignments.designs import export_design, token_ids
    return export_design(design, (vocab,), {}, token_ids(vocab), "float64", seed=0)


@pytest.mark.parametrize("design", [LastStepLSTM, MaskedMeanGRU, LastStateRNN],
                         ids=["lstm-2-layer-bidirectional", "gru-mean", "rnn-tanh-and-relu"])
def test_a_recurrent_design_is_rebuilt_for_any_batch_and_length(design):
    """Traced once on 8 sentences of 12 steps, the rebuilt module equals the model on other batch
    sizes and lengths, in both modes (the LSTM's dropout draws the same numbers), outputs and grads."""
    torch.manual_seed(0)
    spec = _text_spec(design)
    model = design(40).double()
    model.load_state_dict({k: spec["tensors"][k] for k in model.state_dict()})
    ours = rebuild(spec, example=(torch.empty(64, 30, dtype=torch.long, device="meta"),
                                  torch.empty(64, dtype=torch.long, device="meta")))
    recurrent = [n[0] for n in spec["graphs"]["train"]["nodes"] if n[0].endswith(".input")]
    assert recurrent and len(recurrent) == len([m for m in model.modules() if isinstance(m, nn.RNNBase)]), recurrent
    for batch, length in [(3, 5), (17, 29), (1, 1)]:
        lengths = torch.randint(1, length + 1, (batch,))
        lengths[0] = length
        ids = torch.randint(1, 40, (batch, length)) * (torch.arange(length)[None] < lengths[:, None])
        for train in (True, False):
            model.train(train), ours.train(train)
            torch.manual_seed(1)
            a = model(ids, lengths)
            torch.manual_seed(1)
            b = ours(ids, lengths)
            check_close(f"output {batch}x{length} (train={train})", b, a, atol=0, rtol=0, verbose=False)
            a.square().sum().backward(), b.square().sum().backward()
            for p, q in zip(model.parameters(), ours.parameters()):
                check_close("gradient", q.grad, p.grad, atol=0, rtol=0, verbose=False)
            model.zero_grad(), ours.zero_grad()


def test_the_grader_starts_embeddings_and_recurrent_layers_as_pytorch_does():
    model = LastStepLSTM(40)
    for p in model.parameters():
        nn.init.constant_(p, 3.0)   # what a student's process could send: weights trained on the test split
    from dlcourse.exercises.assignments.designs import _example
    fresh = initialised(export_spec(model, *_example({"kind": "tokens", "vocab_size": 40}, 8)))["tensors"]
    embed = fresh["embed.weight"]
    assert torch.equal(embed[0], torch.zeros(8)), "padding_idx's row starts at zero, as nn.Embedding starts it"
    assert abs(float(embed[1:].std()) - 1) < 0.15 and abs(float(embed[1:].mean())) < 0.15   # N(0, 1)
    recurrent = [k for k in fresh if k.startswith("lstm.")]
    assert len(recurrent) == 16   # 2 layers x 2 directions x (weight_ih, weight_hh, bias_ih, bias_hh)
    for k in recurrent:
        bound = 1 / 6 ** 0.5   # nn.LSTM: U(-1/sqrt(hidden), 1/sqrt(hidden)) for every weight and bias
        assert fresh[k].abs().max() <= bound and float(fresh[k].std()) > bound / 3, k
    assert fresh["out.weight"].abs().max() <= 1 / 12 ** 0.5


def test_a_python_loop_over_the_time_steps_is_told_what_to_write():
    from dlcourse.exercises.assignments.text_checks import text_design

    class Unrolled(MaskedMeanGRU):
        def forward(self, ids, lengths):
            x, h = self.embed(ids), None
            cell = nn.GRUCell(8, 5).to(x.dtype)
            for t in range(ids.shape[1]):
                h = cell(x[:, t], h)
            return self.out(h)

    with pytest.raises(CheckError, match="not a Python loop over time steps"):
        text_design(Unrolled, 40, 6, name="QuestionGRU")


def test_a_table_written_into_the_graph_as_numbers_is_refused():
    """Every weight is drawn afresh, so a table of answers would have to be written into the
    graph's calls: one number per answer, far more than a design's few dozen sizes and constants."""
    class Literal(a05.BaselineCNN):
        def forward(self, x):
            out = super().forward(x)
            for k in range(MAX_LITERALS + 1):
                out = out + (x.flatten(1)[:, :4] - (k + 0.5) / 7).relu() * 1e-9
            return out

    with pytest.raises(ModelSpecError, match=f"more than the {MAX_LITERALS} the grader allows"):
        rebuild(export_spec(Literal(4), torch.randn(8, 3, 32, 32)))
    assert len(_spec()["graphs"]["train"]["nodes"]) < 30


def test_a_factory_asking_for_a_huge_tensor_at_run_time_is_refused_before_allocating():
    spec = _spec()
    graph = spec["graphs"]["eval"]
    size = len(graph["inputs"])   # the input itself: its batch size decides the request
    graph["nodes"].append(["aten.sym_size.int", [{"node": size - 1}, 0], {}])
    graph["nodes"].append(["operator.mul", [{"node": size + len(graph["nodes"]) - 1}, 10**9], {}])
    graph["nodes"].append(["aten.zeros.default", [[{"node": size + len(graph["nodes"]) - 1}, 1000]],
                           {"device": {"device": "cpu"}}])
    with pytest.raises(ModelSpecError, match="grader allows"):
        rebuild(spec)


@pytest.mark.parametrize("design", [LastStepLSTM, MaskedMeanGRU, a05.BaselineCNN], ids=["lstm", "gru", "cnn"])
def test_the_graders_draw_is_pytorchs_own_for_an_honest_design(design):
    """The student's process builds the class after seeding with the graded seed; the grader
    then redraws every layer from that seed in the spec's order, and gets PyTorch's numbers: an
    honest design trains from the same start either way (the tier margins did not move)."""
    from dlcourse.exercises.assignments.designs import export_design, images, token_ids

    inputs, args = (images(), (4,)) if design is a05.BaselineCNN else (token_ids(40), (40,))
    spec = export_design(design, args, {}, inputs, "float64", seed=3)
    fresh = initialised(spec, seed=3)["tensors"]
    for name, value in spec["tensors"].items():
        check_close(name, fresh[name], value, atol=1e-15, rtol=1e-12, verbose=False)
    assert not torch.allclose(initialised(spec, seed=4)["tensors"][next(iter(fresh))], fresh[next(iter(fresh))])


def test_a_design_too_costly_to_train_here_is_refused_and_one_that_runs_long_stops():
    """The grader trains a rebuilt design in its own process, beyond the reach of the student
    process's time limit: its FLOPs are counted on the meta device first, and a forward stops
    between two calls once the test's time (``time_limit``, set by the judge per test) is up."""
    from dlcourse.model_spec import time_limit

    class Wide(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(512, 2048, batch_first=True)

        def forward(self, x):
            return self.lstm(x)[0][:, -1]

    with pytest.raises(ModelSpecError, match=r"GFLOPs, more than the 20 the grader trains"):
        rebuild(export_spec(Wide(), torch.randn(8, 30, 512)), example=(torch.empty(64, 30, 512, device="meta"),))
    model = rebuild(_spec())
    with time_limit(0.0), pytest.raises(ModelSpecError, match="ran past the time this test may take"):
        model(torch.randn(2, 3, 32, 32))
    model(torch.randn(2, 3, 32, 32))   # outside a test, no limit


def test_a_graph_that_keeps_too_many_numbers_alive_is_refused():
    """Each tensor under the per-tensor limit, but a graph keeps every value until it ends: nine
    copies of 16.7 million numbers would hold 1.2 GB in float64, refused on the meta device."""
    spec = _spec()
    graph = spec["graphs"]["eval"]
    x = next(i for i, (kind, _) in enumerate(graph["inputs"]) if kind == "user_input")
    at = len(graph["inputs"]) + len(graph["nodes"])
    graph["nodes"].append(["aten.expand.default", [{"node": x}, [85, 64, 3, 32, 32]], {}])
    graph["nodes"] += [["aten.clone.default", [{"node": at}], {}] for _ in range(9)]
    with pytest.raises(ModelSpecError, match="one forward makes more than 134,217,728 numbers"):
        rebuild(spec)
