"""The MLP module, and the hand-written backward pass == torch.autograd."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse import weight_init as I
from dlcourse.checks import CheckError, grad_check
from dlcourse.models import MLP, ManualMLP
from dlcourse.profiling import count_params

SIZES = [6, 10, 8, 4]
TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


def batch(n=16, sizes=SIZES, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, sizes[0], generator=g, dtype=dtype), torch.randint(0, sizes[-1], (n,), generator=g)


def linears(mlp):
    return [m for m in mlp.net if isinstance(m, nn.Linear)]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_manual_backward_equals_autograd(activation, dtype):
    torch.manual_seed(0)
    mlp = MLP(SIZES, activation).to(dtype)
    manual = ManualMLP.from_linear(mlp)
    x, y = batch(dtype=dtype)
    logits = mlp(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    loss_manual = manual.loss(x, y)
    grads_w, grads_b = manual.backward(y)
    tol = TOL[dtype]
    torch.testing.assert_close(manual.forward(x), logits.detach(), atol=tol, rtol=tol)
    torch.testing.assert_close(loss_manual, loss.detach(), atol=tol, rtol=tol)
    assert len(grads_w) == len(grads_b) == len(SIZES) - 1
    for l, (gw, gb, lin) in enumerate(zip(grads_w, grads_b, linears(mlp))):
        assert gw.shape == lin.weight.shape and gb.shape == lin.bias.shape
        torch.testing.assert_close(gw, lin.weight.grad, atol=tol, rtol=0, msg=f"dW of layer {l}")
        torch.testing.assert_close(gb, lin.bias.grad, atol=tol, rtol=0, msg=f"db of layer {l}")
        assert gw.abs().max() > 1e-3             # the comparison is not between two zeros


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_sgd_steps_track_torch_optim(activation):
    torch.manual_seed(1)
    mlp = MLP(SIZES, activation).double()
    manual = ManualMLP.from_linear(mlp)
    opt = torch.optim.SGD(mlp.parameters(), lr=0.5)
    for step in range(5):
        x, y = batch(seed=10 + step)
        opt.zero_grad()
        F.cross_entropy(mlp(x), y).backward()
        opt.step()
        manual.loss(x, y)
        manual.backward(y)
        manual.step(0.5)
        for lin, w, b in zip(linears(mlp), manual.weights, manual.biases):
            torch.testing.assert_close(w, lin.weight.detach(), atol=1e-12, rtol=0, msg=f"W after step {step}")
            torch.testing.assert_close(b, lin.bias.detach(), atol=1e-12, rtol=0, msg=f"b after step {step}")
    assert not torch.equal(manual.weights[0], ManualMLP.from_linear(MLP(SIZES, activation).double()).weights[0])


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_gradient_check(activation):
    sizes = [4, 5, 3]
    x, y = batch(n=6, sizes=sizes, seed=2)
    model = ManualMLP(sizes, activation, init="xavier", dtype=torch.float64,
                      generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        for b in model.biases:
            b.normal_(0, 0.5, generator=torch.Generator().manual_seed(4))
    model.loss(x, y)
    grads_w, grads_b = model.backward(y)
    n = len(model.weights)

    def f(*params):
        m = ManualMLP(sizes, activation, init=None, dtype=torch.float64)
        m.weights, m.biases = list(params[:n]), list(params[n:])
        return m.loss(x, y)

    params = model.weights + model.biases
    grad_check(f, params, analytic=grads_w + grads_b, verbose=False, tol=1e-6)   # raises if not
    # ... and the check does catch a gradient that is off by 1%.
    with pytest.raises(CheckError):
        grad_check(f, params, analytic=[g * 1.01 for g in grads_w + grads_b], verbose=False)


@pytest.mark.parametrize("activation", ["relu", "prelu", "tanh"])
def test_parameter_count_formula(activation):
    sizes = [64, 128, 64, 10]
    mlp = MLP(sizes, activation)
    expected = sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    expected += (len(sizes) - 2) if activation == "prelu" else 0    # one slope per PReLU
    assert count_params(mlp) == expected
    assert len(linears(mlp)) == len(sizes) - 1


@pytest.mark.parametrize("activation, module", [("relu", nn.ReLU), ("leaky_relu", nn.LeakyReLU), ("elu", nn.ELU),
                                                ("gelu", nn.GELU), ("sigmoid", nn.Sigmoid), ("tanh", nn.Tanh),
                                                ("prelu", nn.PReLU)])
def test_structure(activation, module):
    mlp = MLP([5, 7, 7, 3], activation, dropout=0.2, output_activation="softmax")
    kinds = [type(m) for m in mlp.net]
    assert kinds == [nn.Linear, module, nn.Dropout, nn.Linear, module, nn.Dropout, nn.Linear, nn.Softmax]
    assert [type(m) for m in MLP([5, 3]).net] == [nn.Linear]


def test_flattens_images_and_rejects_wrong_width():
    torch.manual_seed(0)
    mlp = MLP([64, 16, 10])
    x = torch.randn(3, 1, 8, 8)
    torch.testing.assert_close(mlp(x), mlp(x.reshape(3, 64)), atol=0, rtol=0)
    manual = ManualMLP.from_linear(mlp)
    torch.testing.assert_close(manual(x), mlp(x).detach(), atol=1e-6, rtol=1e-6)
    with pytest.raises(ValueError, match="expected 64 input features, got 63"):
        mlp(torch.randn(3, 63))
    with pytest.raises(ValueError, match="activation"):
        MLP([2, 3, 1], activation="swish")


def test_activations_for_vanishing_gradient_plots():
    torch.manual_seed(0)
    mlp = MLP([6, 9, 9, 9, 4], "sigmoid")
    x, y = batch(dtype=torch.float32, sizes=[6, 9, 9, 9, 4])
    acts, out = mlp.activations(x, return_output=True)
    torch.testing.assert_close(out, mlp(x), atol=0, rtol=0)
    assert len(acts) == 3 and len(mlp.activations(x)) == 3
    for (pre, post), lin in zip(acts, linears(mlp)):
        assert pre.shape == post.shape == (16, 9)
        torch.testing.assert_close(post, torch.sigmoid(pre), atol=0, rtol=0)
    torch.testing.assert_close(acts[0][0], lin_out(linears(mlp)[0], x), atol=1e-6, rtol=1e-6)
    F.cross_entropy(out, y).backward()
    norms = [post.grad.norm().item() for _, post in acts]
    assert all(n > 0 for n in norms)
    assert norms[0] < norms[-1]        # sigmoid: gradients shrink on the way back to the input


def test_activations_skip_dropout_and_the_output_activation():
    torch.manual_seed(0)
    mlp = MLP([5, 7, 7, 3], "tanh", dropout=0.5, output_activation="softmax").eval()
    acts, out = mlp.activations(torch.randn(4, 5), return_output=True)
    assert len(acts) == 2 and all(post.shape == (4, 7) for _, post in acts)     # two hidden layers, no more
    torch.testing.assert_close(out.sum(dim=1), torch.ones(4))                    # the output is the softmax's


def test_from_linear_takes_a_list_of_layers_and_an_activation():
    torch.manual_seed(0)
    mlp = MLP(SIZES, "tanh")
    x = torch.randn(3, SIZES[0])
    from_list = ManualMLP.from_linear(linears(mlp), activation="tanh")
    torch.testing.assert_close(from_list(x), ManualMLP.from_linear(mlp)(x), atol=0, rtol=0)
    with pytest.raises(ValueError, match="pass an MLP, or nn.Linear layers plus activation="):
        ManualMLP.from_linear(linears(mlp))


def test_manual_normal_init_draws_from_n0_std():
    m = ManualMLP([200, 300], init=None).init("normal", generator=torch.Generator().manual_seed(0), std=0.05)
    expected = torch.empty(300, 200).normal_(0, 0.05, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(m.weights[0], expected, atol=0, rtol=0)


def test_no_dropout_layers_without_dropout_and_step_needs_backward():
    assert [type(m) for m in MLP([5, 7, 3]).net] == [nn.Linear, nn.ReLU, nn.Linear]
    with pytest.raises(RuntimeError, match="call backward"):
        ManualMLP([5, 3]).step(0.1)


def lin_out(lin, x):
    return x @ lin.weight.T + lin.bias


def test_manual_init_uses_dlcourse_weight_init():
    sizes = [30, 20, 10]
    m = ManualMLP(sizes, init="xavier", generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(0)
    expected = [I.xavier_uniform_(torch.empty(o, i), generator=g) for i, o in zip(sizes[:-1], sizes[1:])]
    assert all(torch.equal(a, b) for a, b in zip(m.weights, expected))
    assert all(torch.equal(b, torch.zeros_like(b)) for b in m.biases)
    m.init("he", generator=torch.Generator().manual_seed(0))
    assert torch.equal(m.weights[0], nn.init.kaiming_normal_(torch.empty(20, 30), nonlinearity="relu",
                                                             generator=torch.Generator().manual_seed(0)))
    m.init("normal", generator=torch.Generator().manual_seed(0))
    assert m.weights[0].std().item() < 0.02
    with pytest.raises(ValueError, match="kind"):
        m.init("orthogonal")


def test_manual_mlp_learns_and_errors_are_clear():
    x, y = batch(n=32, seed=5)
    m = ManualMLP(SIZES, "tanh", dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    losses = []
    for _ in range(30):
        losses.append(m.loss(x, y).item())
        m.backward(y)
        m.step(0.5)
    assert losses[-1] < 0.5 * losses[0]
    with pytest.raises(RuntimeError, match="forward"):
        ManualMLP(SIZES).backward(y)
    with pytest.raises(ValueError, match="integer class indices"):
        m.loss(x, y.double())
    with pytest.raises(ValueError, match="activation"):
        ManualMLP(SIZES, "gelu")
    with pytest.raises(ValueError, match="output_activation"):
        ManualMLP.from_linear(MLP(SIZES, output_activation="softmax"))
