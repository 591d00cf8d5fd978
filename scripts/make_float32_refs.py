#!/usr/bin/python3
"""Writes PyTorch's float32 per-sample derivatives of the float32 test
models, for jacobi's float32 cross-checks (onnx and cmd/jacobi tests).

Run from the repository root with Debian's Python (python3-torch,
python3-onnx, python3-numpy), after scripts/make_testdata.py:

    /usr/bin/python3 scripts/make_float32_refs.py

Every model of testdata/models with references is rebuilt exactly as
make_testdata.py builds it (same seeds, same order): the float32 models
(mlp, residual, layernorm, layernorm_op13) with their weights checked
against the committed model.onnx, the ones exported in float64 (fourier,
gelu_softplus, zoo, zoo_op12, piecewise, zoo2, scalar, convs, einsums,
pools; their float32 parameters widened, some folded into other constants
by the export) with PyTorch's float64 output on x.npy checked against the
committed y.npy. For each, under testdata/models/NAME/, it writes float32
.npy files computed entirely in float32 by functorch, on x.npy rounded to
float32 (the model's own float32 parameters; jacobi's tests run the
float64 exports in float32 to compare):

    y_f32.npy, jacobian_f32.npy, hessian_f32.npy, hessian_diag_f32.npy, laplacian_f32.npy
"""

import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import torch
from functorch import jacrev, vmap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_testdata as mt  # noqa: E402


def refs32(model, x):
    m = model.float().eval()
    xf = torch.as_tensor(np.asarray(x, dtype=np.float32))

    def f(xi):
        return m(xi.unsqueeze(0)).squeeze(0)

    with torch.no_grad():
        y = m(xf)
    jac = vmap(jacrev(f))(xf)
    hes = vmap(jacrev(jacrev(f)))(xf)
    b, n = xf.shape[0], xf[0].numel()
    sq = hes.reshape(b, -1, n, n)
    diag = torch.diagonal(sq, dim1=-2, dim2=-1)
    lap = diag.sum(-1).reshape(y.shape)
    diag = diag.reshape(y.shape + xf.shape[1:])
    return {"y": y, "jacobian": jac, "hessian": hes, "hessian_diag": diag, "laplacian": lap}


def check_weights(model, path):
    """Every parameter of model appears among the initializers of path."""
    inits = [onnx.numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer]
    for name, p in model.state_dict().items():
        a = p.detach().numpy().astype(np.float32)
        if not any(i.shape == a.shape and np.array_equal(i, a) or i.shape == a.T.shape and np.array_equal(i, a.T) for i in inits):
            raise SystemExit(f"{path}: parameter {name} is not among the initializers: the models were not rebuilt as exported")


def check_output(model, x, path):
    """model computes the committed float64 output at x (its parameters are
    the ones exported)."""
    y, *_ = mt.references(model, x)
    want = np.load(path)
    if y.shape != want.shape or np.max(np.abs(y.detach().numpy() - want), initial=0) > 1e-12 * max(1, np.max(np.abs(want), initial=0)):
        raise SystemExit(f"{path}: the rebuilt model's output differs: the models were not rebuilt as exported")


def main():
    # As make_testdata.main, up to the last model with references.
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    models = [("mlp", mt.MLP(), rng.standard_normal((4, 5)), False)]
    models.append(("residual", mt.Residual(), rng.standard_normal((4, 4)), False))
    models.append(("layernorm", mt.LayerNormNet(), rng.standard_normal((3, 4)), False))
    models.append(("layernorm_op13", mt.LayerNormNet(), rng.standard_normal((3, 4)), False))
    models.append(("fourier", mt.Fourier(), rng.uniform(-1, 1, (5, 2)), True))
    models.append(("gelu_softplus", mt.GeluSoftplus(), rng.standard_normal((4, 3)), True))
    models.append(("zoo", mt.Zoo(), rng.standard_normal((3, 4)) * 0.7, True))
    models.append(("zoo_op12", mt.Zoo(), rng.standard_normal((3, 4)) * 0.7, True))
    models.append(("piecewise", mt.Piecewise(), rng.standard_normal((4, 3)), True))
    models.append(("zoo2", mt.Zoo2(), rng.standard_normal((3, 2, 3)), True))
    models.append(("scalar", mt.ScalarSamples(), rng.standard_normal(5), True))
    models.append(("convs", mt.Convs(), rng.standard_normal((3, 16)), True))
    models.append(("einsums", mt.Einsums(), rng.standard_normal((3, 4)), True))
    models.append(("pools", mt.Pools(), rng.standard_normal((3, 16)), True))
    for name, model, x, double in models:
        model = model.eval()
        d = os.path.join(mt.OUT, name)
        if double:
            check_output(model, x, os.path.join(d, "y.npy"))
        else:
            check_weights(model, os.path.join(d, "model.onnx"))
        if not np.array_equal(np.load(os.path.join(d, "x.npy")), x):
            raise SystemExit(f"{d}/x.npy differs from the input rebuilt")
        for k, v in refs32(model, x).items():
            np.save(os.path.join(d, k + "_f32.npy"), np.ascontiguousarray(v.detach().numpy().astype(np.float32)))
        print(f"{name}: float32 references written")


if __name__ == "__main__":
    main()
