#!/usr/bin/python3
"""Regenerates jacobi's committed test data: tiny PyTorch models exported to
ONNX, input batches, and PyTorch's own per-sample derivatives of them.

Run from the repository root with Debian's Python (it needs python3-torch,
python3-onnx and python3-numpy; tests never need them):

    apt-get install -y python3-torch python3-onnx libopenblas0-pthread
    /usr/bin/python3 scripts/make_testdata.py [NAME...]

For every model NAME it writes, under testdata/models/NAME/:

    model.onnx          the model, exported with torch.onnx.export
    x.npy               an input batch, float64, shape (b, in)
    y.npy               the model's output on x, float64, shape (b, out)
    jacobian.npy        per-sample Jacobian, (b, out, in)
    hessian.npy         per-sample Hessian of every output, (b, out, in, in)
    hessian_diag.npy    its diagonal, (b, out, in)
    laplacian.npy       its trace, (b, out)

The references are computed by functorch's vmap(jacrev(f)) and
vmap(jacrev(jacrev(f))) in float64 on the per-sample function f(x_i) = model(x_i[None])[0],
with the model's weights widened to float64 (so float32 models give exactly
the numbers that their float32 initializers define). The sample-mixing model
has no references: its derivatives per sample do not exist, and jacobi must
refuse it. Nor do the models that depend on their batch size (batchsize,
reshape_batch): jacobi must refuse to compile them for every batch size.

It also writes a few .npy files under testdata/npy/ for the .npy reader's
tests and copies the default model to cmd/jacobi/default.onnx.
"""

import copy
import math
import os
import shutil
import sys

import numpy as np
import onnx
import onnx.helper
import onnx.numpy_helper
import torch
import torch.nn as nn
from functorch import jacrev, vmap

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "testdata", "models")


class MLP(nn.Module):
    """The seed network: Linear(5,2) -> Sigmoid -> Linear(2,10)."""

    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(5, 2)
        self.l2 = nn.Linear(2, 10)

    def forward(self, x):
        return self.l2(torch.sigmoid(self.l1(x)))


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(4, 8)
        self.b1 = nn.Linear(8, 8)
        self.b2 = nn.Linear(8, 8)
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        h = torch.tanh(self.inp(x))
        h = h + torch.tanh(self.b1(h))
        h = h + self.b2(torch.relu(h) + 0.5 * h)
        return self.out(h)


class LayerNormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(4, 6)
        self.ln = nn.LayerNorm(6)
        self.l2 = nn.Linear(6, 2)
        with torch.no_grad():
            self.ln.weight.uniform_(0.5, 1.5)
            self.ln.bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        return self.l2(torch.tanh(self.ln(self.l1(x))))


class Fourier(nn.Module):
    """Random Fourier features: [sin(x B), cos(x B)] -> MLP -> scalar."""

    def __init__(self):
        super().__init__()
        self.register_buffer("B", torch.randn(2, 8) * 2.0)
        self.l1 = nn.Linear(16, 8)
        self.l2 = nn.Linear(8, 1)

    def forward(self, x):
        z = 2 * math.pi * x @ self.B
        f = torch.cat([torch.sin(z), torch.cos(z)], dim=1)
        return self.l2(torch.tanh(self.l1(f)))


class GeluSoftplus(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(3, 5)
        self.l2 = nn.Linear(5, 5)
        self.l3 = nn.Linear(5, 1)

    def forward(self, x):
        h = nn.functional.gelu(self.l1(x))
        h = nn.functional.softplus(self.l2(h))
        return self.l3(h)


class Zoo(nn.Module):
    """Many of the operators torch.onnx.export emits, smooth at the inputs used."""

    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(4, 6)
        self.bn = nn.BatchNorm1d(6)
        self.l2 = nn.Linear(6, 6)
        self.l3 = nn.Linear(8, 3)
        with torch.no_grad():
            self.bn.running_mean.uniform_(-0.2, 0.2)
            self.bn.running_var.uniform_(0.5, 2.0)
            self.bn.weight.uniform_(0.5, 1.5)
            self.bn.bias.uniform_(-0.3, 0.3)

    def forward(self, x):
        h = self.bn(torch.tanh(self.l1(x)))                       # Gemm, Tanh, BatchNormalization
        h = self.l2(h)
        a = torch.exp(-h * h) + torch.sqrt(h * h + 1.0)            # Mul, Neg, Exp, Add, Sqrt
        b = torch.log(1.0 + h.pow(2)) / (2.0 + torch.cos(h))       # Pow, Log, Div, Cos
        c = torch.softmax(h, dim=1) - torch.log_softmax(a, dim=1)  # Softmax, LogSoftmax, Sub
        s = h.sum(dim=1, keepdim=True) + a.mean(dim=1, keepdim=True)   # ReduceSum, ReduceMean
        m = torch.reshape(b, (-1, 2, 3)).transpose(1, 2)          # Reshape, Transpose
        m = torch.flatten(m, 1)                                    # Flatten
        g = x[:, 2].unsqueeze(1) * x[:, 1:3]                        # Gather, Unsqueeze, Slice
        sq = torch.squeeze(s.unsqueeze(2), 2)                      # Unsqueeze, Squeeze
        feats = torch.cat([c[:, :3] + m[:, :3], g, sq * torch.sigmoid(sq), torch.sin(x[:, :3]).sum(1, keepdim=True) + torch.erf(x[:, 3:4]), nn.functional.softplus(c[:, 3:4])], dim=1)
        return self.l3(feats)


class Piecewise(nn.Module):
    """Operators that are piecewise smooth: evaluated away from their kinks.
    ONNX stores float attributes (LeakyRelu's slope) as float32, so the slope is
    one that float32 holds exactly; the model itself is exported in float64."""

    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(3, 6)
        self.l2 = nn.Linear(6, 2)

    def forward(self, x):
        h = self.l1(x)
        a = torch.relu(h) + nn.functional.leaky_relu(h, 0.125) + torch.abs(h)
        b = torch.clamp(h, -0.5, 0.75) + torch.maximum(h, torch.sin(h)) + torch.minimum(h, 0.3 * h)
        c = torch.where(h > 0.2, h * h, -h)
        return self.l2(a * b + c)


class Zoo2(nn.Module):
    """More activations and reductions, a 3-D input flattened with
    x.view(x.size(0), -1) (a Shape/Gather/Concat/Reshape chain under a
    symbolic batch), and chunk/split."""

    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(6, 8)
        self.prelu = nn.PReLU(8)
        self.l2 = nn.Linear(8, 8)
        self.l3 = nn.Linear(9, 2)
        with torch.no_grad():
            self.prelu.weight.uniform_(0.1, 0.3)

    def forward(self, x):
        h = self.l1(x.view(x.size(0), -1))                          # Shape, Gather, Unsqueeze, Concat, Reshape
        a, b = torch.chunk(h, 2, dim=1)                              # Split (or Slice)
        a = nn.functional.elu(a) + nn.functional.selu(b)             # Elu, Selu
        b = torch.sigmoid(b) * nn.functional.mish(a)                 # Mish (Softplus, Tanh)
        h = torch.cat([a, b], dim=1)
        h = self.prelu(h) + torch.tan(0.3 * h) + nn.functional.silu(h)   # PRelu, Tan
        h = self.l2(h)
        m = torch.amax(h, dim=1, keepdim=True) + torch.amin(h, dim=1, keepdim=True)  # ReduceMax, ReduceMin
        lse = torch.logsumexp(h, dim=1, keepdim=True)               # ReduceLogSumExp
        nrm = torch.linalg.vector_norm(h, dim=1, keepdim=True)      # ReduceL2
        return self.l3(torch.cat([torch.tanh(h[:, :6]), m, lse, nrm], dim=1))


class Convs(nn.Module):
    """Convolutions as torch.onnx.export writes them: Conv1d with padding,
    a strided, dilated, grouped Conv1d, and a Conv2d with a rectangular
    kernel, stride and padding, then one that keeps the size, on x (b, 16)
    viewed as a (2, 8) signal and as a (1, 4, 4) image. model_autopad.onnx
    has the last convolution's pads replaced by auto_pad SAME_UPPER."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(2, 4, 3, padding=1)
        self.c2 = nn.Conv1d(4, 4, 3, stride=2, dilation=2, groups=2, padding=2)
        self.c3 = nn.Conv2d(1, 3, (2, 3), stride=(1, 2), padding=(1, 0), bias=False)
        self.c4 = nn.Conv2d(3, 2, (3, 1), padding=(1, 0))
        self.lin = nn.Linear(4 * 4 + 2 * 5 * 1, 2)

    def forward(self, x):
        s = x.view(-1, 2, 8)
        h = torch.tanh(self.c2(torch.tanh(self.c1(s))))       # (b, 4, 4)
        g = torch.tanh(self.c3(x.view(-1, 1, 4, 4)))          # (b, 3, 5, 1)
        g = torch.tanh(self.c4(g))                            # (b, 2, 5, 1)
        return self.lin(torch.cat([h.flatten(1), g.flatten(1)], 1))


class Pools(nn.Module):
    """Pooling on x (b, 16) viewed as a (1, 4, 4) image after a Conv2d:
    MaxPool2d with padding, AvgPool2d leaving the padding out of its count
    and one counting it, AvgPool1d with a stride, and the global poolings
    (AdaptiveAvgPool2d(1), AdaptiveMaxPool2d(1))."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 2, padding=1)                             # (b, 3, 5, 5)
        self.maxp = nn.MaxPool2d(3, stride=2, padding=1)                       # (b, 3, 3, 3)
        self.avgp = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)  # (b, 3, 5, 5)
        self.avgi = nn.AvgPool2d(2, stride=2, padding=1, count_include_pad=True)   # (b, 3, 3, 3)
        self.avg1 = nn.AvgPool1d(3, stride=2)                                  # (b, 2, 7) from (b, 2, 16)
        self.lin = nn.Linear(27 + 75 + 27 + 14 + 3 + 3, 2)

    def forward(self, x):
        h = torch.tanh(self.conv(x.view(-1, 1, 4, 4)))
        a = self.maxp(h)
        b = self.avgp(h * h)
        c = self.avgi(h)
        d = self.avg1(torch.stack([x, torch.sin(x)], 1))
        e = nn.functional.adaptive_avg_pool2d(h, 1)
        f = nn.functional.adaptive_max_pool2d(h, 1)
        return self.lin(torch.cat([t.flatten(1) for t in (a, b, c, d, e, f)], 1))


class Einsums(nn.Module):
    """torch.einsum in the forms models use: a contraction with a 3-D
    weight, a per-sample batched product, an outer product, a diagonal,
    and an ellipsis."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 3, 5) * 0.5)
        self.v = nn.Parameter(torch.randn(5, 2) * 0.5)

    def forward(self, x):                                      # (b, 4)
        h = torch.einsum("bi,ijk->bjk", x, self.w)             # (b, 3, 5)
        g = torch.tanh(h)
        o = torch.einsum("bjk,bjk->bj", g, h)                  # (b, 3)
        p = torch.einsum("bj,bk->bjk", o, x[:, 1:])            # (b, 3, 3)
        d = torch.einsum("bii->bi", p)                         # (b, 3)
        q = torch.einsum("...jk,kl->...l", g, self.v)          # (b, 2), j summed
        r = torch.einsum("bj,jk->bk", d, self.w[0])            # (b, 5)
        return torch.cat([d, q, torch.sin(r)], dim=1)


class ScalarSamples(nn.Module):
    """Samples that are scalars: x of shape (b,), y of shape (b,)."""

    def forward(self, x):
        return torch.sin(x) * x + 0.25 * x * x


class Mixing(nn.Module):
    """Mixes samples: x - x.mean(0). jacobi must refuse it."""

    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(3, 2)

    def forward(self, x):
        return self.l1(x - x.mean(0, keepdim=True))


class BatchSize(nn.Module):
    """Uses its batch size as a value: tanh(x / x.shape[0]), exported as
    Shape -> Gather -> Cast -> Div. Per-sample derivatives exist at each
    batch size, but a program traced at one is wrong at another: jacobi
    must refuse it (or trace it at the real batch size)."""

    def forward(self, x):
        return torch.tanh(x / x.shape[0])


class ReshapeBatch(nn.Module):
    """Reshapes a dynamic batch to a literal [2, -1]: right only for a
    batch of 2 (where it changes nothing), mixing samples at any other."""

    def forward(self, x):
        return torch.tanh(x.reshape(2, -1)).reshape(x.shape[0], -1)


def save(path, a):
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    np.save(path, np.ascontiguousarray(np.asarray(a, dtype=np.float64)))


def references(model, x):
    """PyTorch's per-sample derivatives of model at x, in float64."""
    m = copy.deepcopy(model).double().eval()
    xd = torch.as_tensor(x, dtype=torch.float64)

    def f(xi):
        return m(xi.unsqueeze(0)).squeeze(0)

    with torch.no_grad():
        y = m(xd)
    jac = vmap(jacrev(f))(xd)
    hes = vmap(jacrev(jacrev(f)))(xd)  # reverse over reverse: layer norm lacks forward AD in torch 1.13
    b, n = xd.shape[0], xd[0].numel()
    sq = hes.reshape(b, -1, n, n)  # samples with several axes: flatten them
    diag = torch.diagonal(sq, dim1=-2, dim2=-1)
    lap = diag.sum(-1).reshape(y.shape)
    diag = diag.reshape(y.shape + xd.shape[1:])
    return y, jac, hes, diag, lap


ONLY = set(sys.argv[1:])  # model names to export; all when empty


def export(name, model, x, opset, dynamic=True, double=False, refs=True):
    d = os.path.join(OUT, name)
    if ONLY and name not in ONLY:
        return os.path.join(d, "model.onnx")
    os.makedirs(d, exist_ok=True)
    model = model.eval()
    xe = torch.as_tensor(x, dtype=torch.float64 if double else torch.float32)
    em = copy.deepcopy(model)
    if double:
        em = em.double()
    path = os.path.join(d, "model.onnx")
    kw = {}
    if dynamic:
        kw["dynamic_axes"] = {"x": {0: "batch"}, "y": {0: "batch"}}
    torch.onnx.export(em, (xe,), path, input_names=["x"], output_names=["y"],
                      opset_version=opset, do_constant_folding=True, **kw)
    onnx.checker.check_model(onnx.load(path))
    save(os.path.join(d, "x.npy"), x)
    if refs:
        y, jac, hes, diag, lap = references(model, x)
        save(os.path.join(d, "y.npy"), y)
        save(os.path.join(d, "jacobian.npy"), jac)
        save(os.path.join(d, "hessian.npy"), hes)
        save(os.path.join(d, "hessian_diag.npy"), diag)
        save(os.path.join(d, "laplacian.npy"), lap)
    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    print(f"{name}: opset {opset}, {os.path.getsize(path)} bytes, ops {ops}")
    return path


def typed_copy(src, dst, double):
    """Rewrites src's initializers into the typed fields (float_data or
    double_data) instead of raw_data, as some exporters write them."""
    m = onnx.load(src)
    inits = []
    for t in m.graph.initializer:
        a = onnx.numpy_helper.to_array(t)
        if a.dtype.kind == "f":
            if double:
                inits.append(onnx.helper.make_tensor(t.name, onnx.TensorProto.DOUBLE, a.shape, a.astype(np.float64).ravel().tolist()))
            else:
                inits.append(onnx.helper.make_tensor(t.name, onnx.TensorProto.FLOAT, a.shape, a.astype(np.float32).ravel().tolist()))
        else:
            inits.append(t)
    del m.graph.initializer[:]
    m.graph.initializer.extend(inits)
    if double:
        for v in list(m.graph.input) + list(m.graph.output):
            v.type.tensor_type.elem_type = onnx.TensorProto.DOUBLE
    onnx.checker.check_model(m)
    onnx.save(m, dst)


def autopad_copy(src, dst):
    """Rewrites the last Conv's explicit pads as auto_pad SAME_UPPER (the
    same padding for its stride-1, size-keeping kernel)."""
    m = onnx.load(src)
    conv = [n for n in m.graph.node if n.op_type == "Conv"][-1]
    kept = [a for a in conv.attribute if a.name != "pads"]
    del conv.attribute[:]
    conv.attribute.extend(kept + [onnx.helper.make_attribute("auto_pad", "SAME_UPPER")])
    onnx.checker.check_model(m)
    onnx.save(m, dst)


def npy_files():
    d = os.path.join(ROOT, "testdata", "npy")
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "f64_2x3.npy"), np.array([[0, 1.5, -2], [3, 4.25, 1e-300]], dtype="<f8"))
    np.save(os.path.join(d, "f32_3.npy"), np.array([0.1, -1, 2.5], dtype="<f4"))
    np.save(os.path.join(d, "f64_scalar.npy"), np.array(42.0))
    np.save(os.path.join(d, "fortran.npy"), np.asfortranarray(np.arange(6.0).reshape(2, 3)))
    np.save(os.path.join(d, "int64.npy"), np.arange(3, dtype="<i8"))
    np.save(os.path.join(d, "bigendian.npy"), np.arange(3, dtype=">f8"))


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    npy_files()

    p = export("mlp", MLP(), rng.standard_normal((4, 5)), opset=14)
    shutil.copy(p, os.path.join(ROOT, "cmd", "jacobi", "default.onnx"))
    d = os.path.join(OUT, "mlp")
    typed_copy(p, os.path.join(d, "model_float_data.onnx"), double=False)
    typed_copy(p, os.path.join(d, "model_double_data.onnx"), double=True)

    export("residual", Residual(), rng.standard_normal((4, 4)), opset=11, dynamic=False)
    export("layernorm", LayerNormNet(), rng.standard_normal((3, 4)), opset=17)
    export("layernorm_op13", LayerNormNet(), rng.standard_normal((3, 4)), opset=13)
    export("fourier", Fourier(), rng.uniform(-1, 1, (5, 2)), opset=13, double=True)
    export("gelu_softplus", GeluSoftplus(), rng.standard_normal((4, 3)), opset=15, double=True)
    export("zoo", Zoo(), rng.standard_normal((3, 4)) * 0.7, opset=17, double=True)
    export("zoo_op12", Zoo(), rng.standard_normal((3, 4)) * 0.7, opset=12, double=True)
    export("piecewise", Piecewise(), rng.standard_normal((4, 3)), opset=16, double=True)
    export("zoo2", Zoo2(), rng.standard_normal((3, 2, 3)), opset=14, double=True)
    export("scalar", ScalarSamples(), rng.standard_normal(5), opset=14, double=True)
    p = export("convs", Convs(), rng.standard_normal((3, 16)), opset=14, double=True)
    autopad_copy(p, os.path.join(OUT, "convs", "model_autopad.onnx"))
    export("einsums", Einsums(), rng.standard_normal((3, 4)), opset=14, double=True)
    export("pools", Pools(), rng.standard_normal((3, 16)), opset=14, double=True)
    export("mixing", Mixing(), rng.standard_normal((4, 3)), opset=14, refs=False)
    export("batchsize", BatchSize(), rng.standard_normal((4, 3)), opset=14, refs=False)
    export("reshape_batch", ReshapeBatch(), rng.standard_normal((2, 4)), opset=14, refs=False)


if __name__ == "__main__":
    main()
