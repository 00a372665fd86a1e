"""The grading wire (dlcourse/grading/wire.py): only data crosses, and bad bytes are refused.

These run without a sandbox or nbgrader: two endpoints over pipes in one process, or the
encoder on its own. The judge-side rules (what a student's process may ask of the grader) are
tested here too, since they are what keeps hidden test data out of reach.
"""
from __future__ import annotations

import json
import os
import struct
import threading

import numpy as np
import pytest
import torch

from dlcourse.grading import wire
from dlcourse.grading.judge import _is_callback, _serve_callbacks


def _roundtrip(value):
    tree, blob, _ = wire.encode(value)
    json.dumps(tree)  # the structure is plain JSON
    return wire.decode(tree, blob, resolve=lambda marker: pytest.fail(f"unexpected marker {marker}"))[0]


def test_values_cross_exactly():
    value = {"a": torch.arange(6, dtype=torch.float64).reshape(2, 3).T,  # not contiguous
             "b": (1, 2.5, None, True, "text"), "c": [torch.tensor(3), np.arange(3)],
             1: torch.float32, "s": slice(1, None, 2), "empty": torch.zeros(0, 4)}
    back = _roundtrip(value)
    assert torch.equal(back["a"], value["a"]) and back["a"].dtype == torch.float64
    assert back["b"] == value["b"] and isinstance(back["b"], tuple)
    assert torch.equal(back["c"][0], torch.tensor(3)) and np.array_equal(back["c"][1], np.arange(3))
    assert back[1] is torch.float32 and back["s"] == slice(1, None, 2) and back["empty"].shape == (0, 4)


def test_a_leaf_that_requires_grad_stays_one():
    back = _roundtrip([torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True) * 2])
    assert back[0].requires_grad and not back[1].requires_grad


@pytest.mark.parametrize("value", [object(), lambda x: x, torch.nn.Linear(2, 2)])
def test_objects_are_refused_without_an_exporter(value):
    with pytest.raises(wire.WireError, match="cannot send"):
        wire.encode(value)


def test_oversized_and_deep_values_are_refused():
    with pytest.raises(wire.WireError):
        wire.encode(list(range(wire.MAX_ITEMS + 1)))
    deep = []
    for _ in range(wire.MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(wire.WireError):
        wire.encode(deep)


@pytest.mark.parametrize("tree", [{"eval": "x"}, {"tensor": "7"}, [1, 2], {"dict": [[1]]}, {"dtype": "os.system"}])
def test_malformed_structures_are_refused(tree):
    with pytest.raises(wire.WireError):
        wire.decode(tree, b"", resolve=lambda m: None)


def _pipe_messages(raw: bytes):
    r, w = os.pipe()
    os.write(w, raw)
    os.close(w)
    try:
        return wire.receive(r, deadline=None)
    finally:
        os.close(r)


def test_bad_frames_are_refused():
    with pytest.raises(wire.WireError, match="over the limit"):
        _pipe_messages(struct.pack(">QQ", wire.MAX_HEADER + 1, 0))
    with pytest.raises(wire.WireError, match="malformed"):
        _pipe_messages(struct.pack(">QQ", 3, 0) + b"{x]")
    with pytest.raises(wire.WireError, match="closed"):
        _pipe_messages(struct.pack(">QQ", 10, 0) + b"{}")


def test_waiting_past_the_deadline_raises_deadline():
    r, w = os.pipe()
    try:
        with pytest.raises(wire.Deadline):
            wire.receive(r, deadline=0)
    finally:
        os.close(r), os.close(w)


class _Pair:
    """Two endpoints over pipes; the 'student' side serves in a thread."""

    def __init__(self, student_serve):
        a_r, b_w = os.pipe()
        b_r, a_w = os.pipe()
        self.judge = wire.Endpoint(a_r, a_w, _serve_callbacks, exportable=_is_callback)
        self.student = wire.Endpoint(b_r, b_w, student_serve, exportable=lambda v: True)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            try:
                header, blob = wire.receive(self.student.fd_in)
            except wire.WireError:
                return
            self.student._answer(header, blob)

    def close(self):
        """End of file for the student's loop first, and wait for it: a thread still reading a
        closed descriptor could read the next test's pipe, which reuses its number."""
        os.close(self.judge.fd_out)
        self.thread.join(timeout=10)
        for fd in (self.judge.fd_in, self.student.fd_in, self.student.fd_out):
            os.close(fd)


def _student_namespace(ns):
    def serve(ep, op, meta, call):
        target = meta.get("target")
        obj = ns[target["ref"]] if isinstance(target, dict) and "ref" in target else ep.resolve(target)
        if op == "call":
            return obj(*call[0], **call[1])
        if op == "getattr":
            return getattr(obj, meta["name"])
        raise ValueError(op)
    return serve


def test_calls_nest_and_in_place_changes_come_back():
    def numerical_gradient(f, x, eps=1e-6):  # calls the judge's f, and perturbs x in place
        g = torch.zeros_like(x)
        for i in range(x.numel()):
            x.view(-1)[i] += eps
            plus = float(f(x))
            x.view(-1)[i] -= 2 * eps
            g.view(-1)[i] = (plus - float(f(x))) / (2 * eps)
        x.mul_(0)  # a bug: it leaves x changed
        return g

    pair = _Pair(_student_namespace({"ng": numerical_gradient}))
    try:
        x = torch.randn(4, dtype=torch.float64)
        expected = 3 * x ** 2
        got = wire.Named(pair.judge, 0, "function", "ng")(lambda t: (t ** 3).sum(), x)
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
        assert torch.equal(x, torch.zeros(4, dtype=torch.float64)), "the student's in-place change must show here"
    finally:
        pair.close()


def test_the_student_side_cannot_reach_into_the_judge():
    secret = {"expected": torch.ones(3)}

    def check(f):  # a test passes this to the student's code
        return secret["expected"] * 0

    def hostile(g):  # the student's code, handed the judge's function as a proxy
        results = []
        for attempt in (lambda: g.__globals__, lambda: g.__closure__, lambda: g._ep, lambda: g.secret):
            try:
                results.append(repr(attempt()))
            except Exception as e:
                results.append(type(e).__name__)
        return results

    pair = _Pair(_student_namespace({"hostile": hostile}))
    try:
        results = wire.Named(pair.judge, 0, "function", "hostile")(check)
        assert not any("expected" in r or "tensor" in r for r in results), results
    finally:
        pair.close()


def test_a_remote_exception_says_what_the_student_code_raised():
    def broken(x):
        raise NotImplementedError("Task 1.1")

    pair = _Pair(_student_namespace({"broken": broken}))
    try:
        with pytest.raises(wire.RemoteError) as info:
            wire.Named(pair.judge, 0, "function", "broken")(torch.ones(1))
        assert info.value.kind == "NotImplementedError" and "Task 1.1" in info.value.message
    finally:
        pair.close()
