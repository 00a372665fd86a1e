"""The only thing that crosses between a student's process and the judge: data, in safe formats.

A message is a JSON header plus one safetensors blob holding its tensors: nothing is ever
unpickled, so bytes written by hostile code can at worst be rejected. Values are encoded as

* JSON scalars (None, bool, int, float, str);
* one-key objects for everything else: ``{"tensor": key}`` (the blob's tensor), ``{"list": [..]}``,
  ``{"tuple": [..]}``, ``{"dict": [[k, v], ..]}``, ``{"dtype": "float64"}``, ``{"ndarray": key}``,
  ``{"slice": [a, b, c]}``;
* ``{"obj": n, "type": "...", "repr": "..."}``: an object the sender keeps (a model, an opaque
  cache, a callable); the receiver gets a :class:`Proxy` whose use is a request back to the
  sender. ``{"own": n}`` hands such an object back to the side that owns it, and
  ``{"ref": "name"}`` names a global of the student's notebook.

:class:`Endpoint` runs the protocol over two pipes, one request at a time. While it waits
for a reply it serves the peer's requests, so calls can nest (the judge calls the student's
``numerical_gradient``, which calls back the judge's ``f``). Which requests a side serves is
its own business (:mod:`.runner` serves calls and attribute reads; the judge serves calls of
the callables it handed over, nothing else).
"""
from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any, Callable

import numpy as np
import torch
from safetensors.torch import load as _load_tensors
from safetensors.torch import save as _save_tensors

MAX_HEADER = 16 * 2**20     # bytes of JSON in one message
MAX_BLOB = 512 * 2**20      # bytes of tensors in one message
MAX_ITEMS = 200_000         # values in one message (lists, dict entries, tensors)
MAX_DEPTH = 32              # nesting of lists, tuples and dicts
MAX_STR = 2**20             # characters in one string
REST_S = 120                # seconds for the rest of a message once its first bytes came
_DTYPES = {str(d).replace("torch.", ""): d for d in (
    torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.uint8, torch.int8, torch.int16,
    torch.int32, torch.int64, torch.bool, torch.complex64, torch.complex128)}


class WireError(Exception):
    """A message broke the protocol (too large, malformed, or the peer went away)."""


class RemoteError(Exception):
    """The peer raised while serving our request; ``kind`` is its exception's type name."""

    def __init__(self, kind: str, message: str, detail: str = ""):
        super().__init__(f"{kind}: {message}" if message else kind)
        self.kind, self.message, self.detail = kind, message, detail


class Deadline(Exception):
    """No reply came before the deadline."""


class Proxy:
    """An object that lives on the other side; using it sends a request there."""
    __slots__ = ("_ep", "_id", "_type", "_repr")

    def __init__(self, endpoint: "Endpoint", oid: int, type_name: str, text: str):
        self._ep, self._id, self._type, self._repr = endpoint, oid, type_name, text

    def __call__(self, *args, **kwargs):
        return self._ep.request("call", {"own": self._id}, args=list(args), kwargs=kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._ep.request("getattr", {"own": self._id}, name=name)

    def __setattr__(self, name: str, value):
        if name in Proxy.__slots__:
            object.__setattr__(self, name, value)
        else:
            self._ep.request("setattr", {"own": self._id}, args=[value], name=name)

    def __getitem__(self, key):
        return self._ep.request("getitem", {"own": self._id}, args=[key])

    def __len__(self) -> int:
        return self._ep.request("len", {"own": self._id})

    def __iter__(self):
        return iter(self._ep.request("list", {"own": self._id}))

    def __float__(self) -> float:
        return self._ep.request("float", {"own": self._id})

    def __int__(self) -> int:
        return self._ep.request("int", {"own": self._id})

    def __repr__(self) -> str:
        return self._repr or f"<{self._type}>"


class Named(Proxy):
    """A global of the student's notebook, looked up by name each time it is used."""
    __slots__ = ()

    def __call__(self, *args, **kwargs):
        return self._ep.request("call", {"ref": self._repr}, args=list(args), kwargs=kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._ep.request("getattr", {"ref": self._repr}, name=name)

    def __setattr__(self, name: str, value):
        if name in Proxy.__slots__:
            object.__setattr__(self, name, value)
        else:
            self._ep.request("setattr", {"ref": self._repr}, args=[value], name=name)

    def __repr__(self) -> str:
        return f"<{self._type} {self._repr}>"


def _holds_proxy(value, depth: int = 0) -> bool:
    if isinstance(value, Proxy):
        return True
    if depth < MAX_DEPTH and isinstance(value, (list, tuple)):
        return any(_holds_proxy(v, depth + 1) for v in value)
    if depth < MAX_DEPTH and isinstance(value, dict):
        return any(_holds_proxy(v, depth + 1) for v in value.values())
    return False


class Keep:
    """Send ``value`` as an object the sender keeps (a proxy on the other side), never by value."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


# ----------------------------------------------------------------------------- encoding
class _Encoder:
    def __init__(self, export: Callable[[Any], dict] | None, course_names: bool = False):
        self.tensors: dict[str, torch.Tensor] = {}
        self.sent: list[torch.Tensor] = []  # the sender's tensors, in key order
        self.export, self.items = export, 0
        self.course_names = course_names  # send the course's classes by name (the judge's side only)

    def __call__(self, v, depth: int = 0):
        self.items += 1
        if self.items > MAX_ITEMS or depth > MAX_DEPTH:
            raise WireError(f"value too large or too deeply nested to send (over {MAX_ITEMS} items or "
                            f"{MAX_DEPTH} levels)")
        if v is None or type(v) in (bool, int, float):
            return v
        if type(v) is Keep and self.export is not None:
            return self.export(v.value)
        if type(v) is str:
            if len(v) > MAX_STR:
                raise WireError(f"a string of {len(v):,} characters is too long to send")
            return v
        if isinstance(v, torch.Tensor):
            return {"tensor": self._tensor(v), "grad": bool(v.requires_grad and v.is_leaf)}
        if isinstance(v, np.ndarray) and v.dtype != object:
            return {"ndarray": self._tensor(torch.from_numpy(np.ascontiguousarray(v)))}
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, torch.dtype) and str(v).replace("torch.", "") in _DTYPES:
            return {"dtype": str(v).replace("torch.", "")}
        if isinstance(v, Proxy) and isinstance(v, Named):
            return {"ref": v._repr}
        if isinstance(v, Proxy):
            return {"own": v._id}
        if type(v) in (list, tuple, torch.Size) or (isinstance(v, tuple) and hasattr(v, "_fields")):
            kind = "list" if type(v) is list else "tuple"
            return {kind: [self(x, depth + 1) for x in v]}
        if type(v) is dict or isinstance(v, dict) and type(v).__module__ == "collections":
            return {"dict": [[self(k, depth + 1), self(x, depth + 1)] for k, x in v.items()]}
        if type(v) is slice:
            return {"slice": [self(v.start, depth + 1), self(v.stop, depth + 1), self(v.step, depth + 1)]}
        # A class or function of the course: the other side imports its own. Only the judge sends
        # these; from the student's side a course class travels as a proxy, like any other object.
        if self.course_names and type(v) is CourseRef:
            return {"course": v.name}
        if self.course_names and isinstance(v, type) and _course_name(v):
            return {"course": _course_name(v)}
        if self.export is None:
            raise WireError(f"cannot send a {type(v).__name__}: only tensors, numbers, strings and "
                            "lists, tuples and dicts of them cross to the other process")
        return self.export(v)

    def _tensor(self, t: torch.Tensor) -> str:
        if t.layout != torch.strided:
            t = t.to_dense()
        key = str(len(self.tensors))
        self.sent.append(t)
        self.tensors[key] = t.detach().to("cpu").clone(memory_format=torch.contiguous_format)
        return key


class CourseRef:
    """A class or function of ``dlcourse`` sent by name (the receiver imports its own copy)."""
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


def _course_name(cls) -> str | None:
    """"module:qualname" of a class or function defined in dlcourse (not its grading tools), else None."""
    module, qualname = getattr(cls, "__module__", "") or "", getattr(cls, "__qualname__", "")
    if module.startswith("dlcourse.") and not module.startswith("dlcourse.grading") and "<" not in qualname:
        return f"{module}:{qualname}"
    return None


def encode(value, export: Callable[[Any], dict] | None = None,
           course_names: bool = False) -> tuple[Any, bytes, list[torch.Tensor]]:
    """(JSON-able structure, safetensors blob, the sender's tensors in blob order)."""
    enc = _Encoder(export, course_names)
    tree = enc(value)
    return tree, (_save_tensors(enc.tensors) if enc.tensors else b""), enc.sent


def decode(tree, blob: bytes, resolve: Callable[[dict], Any]) -> tuple[Any, list[torch.Tensor]]:
    """The value, and the received tensors in blob order. ``resolve`` turns ``obj``/``own``/``ref``
    markers into objects (a proxy, or the receiver's own object)."""
    tensors = _load_tensors(blob) if blob else {}
    received = [tensors[k] for k in sorted(tensors, key=int)] if tensors else []
    count = [0]

    def walk(v, depth):
        count[0] += 1
        if count[0] > MAX_ITEMS or depth > MAX_DEPTH:
            raise WireError("message too large or too deeply nested")
        if v is None or type(v) in (bool, int, float, str):
            return v
        if type(v) is not dict or len(v) not in (1, 2, 3):
            raise WireError(f"malformed value in message: {str(v)[:80]}")
        if "tensor" in v:
            t = tensors[v["tensor"]]
            return t.requires_grad_(True) if v.get("grad") and t.is_floating_point() else t
        if "ndarray" in v:
            return tensors[v["ndarray"]].numpy()
        if "list" in v:
            return [walk(x, depth + 1) for x in v["list"]]
        if "tuple" in v:
            return tuple(walk(x, depth + 1) for x in v["tuple"])
        if "dict" in v:
            return {walk(k, depth + 1): walk(x, depth + 1) for k, x in v["dict"]}
        if "dtype" in v:
            return _DTYPES[v["dtype"]]
        if "slice" in v:
            return slice(*(walk(x, depth + 1) for x in v["slice"]))
        if {"obj", "own", "ref", "course"} & set(v):
            return resolve(v)
        raise WireError(f"unknown value in message: {str(v)[:80]}")

    try:
        return walk(tree, 0), received
    except (KeyError, TypeError, ValueError) as e:
        raise WireError(f"malformed value in message ({type(e).__name__})") from None


# ----------------------------------------------------------------------------- framing
def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, left = [], n
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise Deadline()
        try:
            chunk = os.read(fd, min(left, 1 << 20))
        except OSError as e:
            raise WireError(f"the other process is gone ({e.strerror or e})") from None
        if not chunk:
            raise WireError("the other process closed the connection (it exited or was killed)")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def send(fd: int, header: dict, blob: bytes = b"") -> None:
    head = json.dumps(header).encode()
    try:
        _write_all(fd, struct.pack(">QQ", len(head), len(blob)) + head + blob)
    except OSError as e:  # a closed pipe: the other process is gone
        raise WireError(f"the other process is gone ({e.strerror or e})") from None


def receive(fd: int, deadline: float | None = None) -> tuple[dict, bytes]:
    """The next message. Waiting for it may end in :class:`Deadline`; once it has begun, the
    rest must follow within ``REST_S`` (else the stream is out of step: :class:`WireError`)."""
    if deadline is not None:
        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([fd], [], [], wait)[0]:
            raise Deadline()
    rest = time.monotonic() + REST_S
    try:
        return _receive(fd, rest)
    except Deadline:
        raise WireError(f"a message stopped half-way for over {REST_S} s") from None


def _receive(fd: int, deadline: float) -> tuple[dict, bytes]:
    n_head, n_blob = struct.unpack(">QQ", _read_exact(fd, 16, deadline))
    if n_head > MAX_HEADER or n_blob > MAX_BLOB:
        raise WireError(f"message of {n_head + n_blob:,} bytes is over the limit")
    try:
        header = json.loads(_read_exact(fd, n_head, deadline))
    except (ValueError, UnicodeDecodeError) as e:
        raise WireError(f"malformed message ({type(e).__name__})") from None
    if type(header) is not dict:
        raise WireError("malformed message")
    return header, _read_exact(fd, n_blob, deadline)


# ----------------------------------------------------------------------------- endpoint
class Endpoint:
    """One side of the conversation: ``request`` sends and waits, serving nested requests."""

    def __init__(self, fd_in: int, fd_out: int, serve: Callable[["Endpoint", str, dict, list], Any],
                 exportable: Callable[[Any], bool]):
        self.fd_in, self.fd_out, self._serve, self._exportable = fd_in, fd_out, serve, exportable
        self.objects: dict[int, Any] = {}
        self.deadline: float | None = None  # monotonic time after which waiting raises Deadline
        self.call_meta: Callable[[], dict] | None = None  # fields added to every call we make
        # Whether the peer's in-place changes to tensors we sent are copied into ours. The judge says
        # no: what a test compares against must not move when the student's code writes to its
        # input; ``changed`` then lists our tensors that the peer changed in the latest reply.
        self.write_back = True
        self.course_names = False  # whether we send the course's classes by name (the judge does)
        self.changed: list[torch.Tensor] = []

    # objects we hand over stay in our table; the peer refers to them by number
    def export(self, value) -> dict:
        if not self._exportable(value):
            raise WireError(f"cannot send a {type(value).__name__} to the other process")
        oid = len(self.objects) + 1
        self.objects[oid] = value
        try:
            text = repr(value)[:200]
        except Exception:  # a hostile __repr__ must not stop the reply
            text = ""
        return {"obj": oid, "type": type(value).__name__[:100], "repr": text}

    def resolve(self, marker: dict):
        if "obj" in marker:
            return Proxy(self, int(marker["obj"]), str(marker.get("type", "object"))[:100],
                         str(marker.get("repr", ""))[:200])
        if "own" in marker and int(marker["own"]) in self.objects:
            return self.objects[int(marker["own"])]
        for kind in ("ref", "course"):
            if kind in marker:
                try:
                    return self._serve(self, kind, {"name": marker[kind]}, [])
                except PermissionError as e:  # a malformed message, not the receiver's own failure
                    raise WireError(f"a message referred to what it may not: {e}") from None
        raise WireError("a message referred to an object that does not exist")

    def request(self, op: str, target=None, **fields):
        """Ask the peer to do ``op`` on ``target``; return its decoded answer or raise RemoteError."""
        payload = {"target": target, **{k: v for k, v in fields.items() if k not in ("args", "kwargs")}}
        if op == "call" and self.call_meta is not None:
            payload.update(self.call_meta())
        try:
            tree, blob, sent = encode([list(fields.get("args", [])), dict(fields.get("kwargs", {}))], self.export,
                                     self.course_names)
        except WireError as e:  # nothing was sent: the conversation is intact, the caller's value was wrong
            raise TypeError(str(e)) from None
        send(self.fd_out, {"op": op, "meta": payload, "value": tree}, blob)
        return self.wait_reply(sent)

    def wait_reply(self, sent: list[torch.Tensor]):
        """The reply to our latest request (serving the peer's nested requests meanwhile)."""
        while True:
            header, blob = receive(self.fd_in, self.deadline)
            if "op" in header:  # a nested request from the peer
                self._answer(header, blob)
                continue
            if "error" in header:
                err = header["error"] if isinstance(header["error"], dict) else {}
                raise RemoteError(str(err.get("kind", "Error"))[:100], str(err.get("message", ""))[:4000],
                                  str(err.get("detail", ""))[:20000])
            decoded, _ = decode(header.get("value"), blob, self.resolve)
            if type(decoded) is not list or len(decoded) != 2:
                raise WireError("malformed reply")
            value, new = decoded
            self.changed = self._changed(sent, header.get("changed"))
            if self.write_back:
                self._write_back(sent, header.get("changed"), new)
            return value

    @staticmethod
    def _changed(sent: list[torch.Tensor], changed) -> list[torch.Tensor]:
        if not isinstance(changed, list):
            return []
        return [sent[i] for i in changed if type(i) is int and 0 <= i < len(sent)]

    @staticmethod
    def _write_back(sent: list[torch.Tensor], changed, new) -> None:
        """The peer changed some of the tensors we sent in place: do the same to ours."""
        if not isinstance(changed, list) or not isinstance(new, list) or len(changed) != len(new):
            return
        for index, value in zip(changed, new):
            if type(index) is int and 0 <= index < len(sent) and isinstance(value, torch.Tensor):
                mine = sent[index]
                with torch.no_grad():
                    if mine.shape != value.shape:
                        mine.resize_(value.shape)
                    mine.copy_(value.to(mine.dtype))

    def _answer(self, header: dict, blob: bytes) -> None:
        """Serve one request of the peer; any failure of the served code becomes an error reply."""
        try:
            (args, kwargs), received = decode(header.get("value"), blob, self.resolve)
            versions = [t._version for t in received]
            meta = header.get("meta") if isinstance(header.get("meta"), dict) else {}
            result = self._serve(self, str(header.get("op")), meta, [args, kwargs])
            changed = [i for i, (t, v) in enumerate(zip(received, versions)) if t._version != v]
            tree, out, _ = encode([result, [received[i] for i in changed]], self.export, self.course_names)
        except Deadline:
            raise
        except BaseException as e:  # noqa: BLE001 - KeyboardInterrupt and SystemExit too: report them
            send(self.fd_out, {"error": {"kind": type(e).__name__[:100], "message": _safe_str(e)[:4000],
                                         "detail": _traceback(e)[:20000]}})
            return
        send(self.fd_out, {"value": tree, "changed": changed}, out)


def _safe_str(e: BaseException) -> str:
    try:
        return str(e)
    except Exception:
        return ""


def _traceback(e: BaseException) -> str:
    import traceback
    try:
        return "".join(traceback.format_exception(type(e), e, e.__traceback__)[-12:])
    except Exception:
        return ""
