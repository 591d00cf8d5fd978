#!/usr/bin/env python3
"""Fit the polynomial coefficients of the float32 maps (mathfn32.go).

Usage: python3 testdata/fit_f32.py   (needs numpy and mpmath)

Each approximation is a discrete minimax fit (Lawson's iteratively
reweighted least squares on a dense grid, targets from mpmath at 60 digits),
then its coefficients are rounded to float32 one at a time, highest degree
first, refitting the ones not yet rounded (so the rounding of each is
absorbed by the others). The script prints each fit's maximum weighted
error with the rounded coefficients, and Go literals (the float32 value and
its bits). Run it to reproduce the constants in mathfn32.go; the accuracy
actually reached (with float32 evaluation) is tested in elementwise32_test.go.
"""
import numpy as np
import mpmath as mp

mp.mp.dps = 60


def f32(v):
    return float(np.float32(v))


def lawson(A, b, w, iters=400):
    """min over c of max_i w_i |A c - b|_i, by Lawson's algorithm."""
    n = len(b)
    lam = np.ones(n) / n
    c = None
    for _ in range(iters):
        sw = np.sqrt(lam) * w
        c, *_ = np.linalg.lstsq(A * sw[:, None], b * sw, rcond=None)
        e = np.abs(A @ c - b) * w
        lam = lam * e
        s = lam.sum()
        if s == 0:
            break
        lam /= s
    return c


def fit(name, xs, target, basis, weight, fixed=None):
    """target(x) ~ sum_k c_k basis_k(x); weight(x) multiplies the error."""
    xs = np.asarray(xs, dtype=float)
    b = np.array([float(target(mp.mpf(x))) for x in xs])
    A = np.array([[f(x) for f in basis] for x in xs])
    w = np.array([weight(x) for x in xs])
    k = len(basis)
    coef = [None] * k
    if fixed:
        for i, v in fixed.items():
            coef[i] = v
    for r in reversed(range(k)):
        free = [i for i in range(k) if coef[i] is None]
        if not free:
            break
        rhs = b - sum(A[:, i] * coef[i] for i in range(k) if coef[i] is not None)
        c = lawson(A[:, free], rhs, w)
        for i, v in zip(free, c):
            if i == max(free):
                coef[i] = f32(v)
    err = np.max(np.abs(A @ np.array(coef) - b) * w)
    print(f"// {name}: max weighted error {err:.3g}")
    for i, v in enumerate(coef):
        bits = np.float32(v).view(np.uint32)
        print(f"\t{v!r:>26}, // 0x{bits:08x} c{i}")
    return coef


def cheb(lo, hi, n):
    k = np.arange(n)
    return (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / n)


U = 2.0 ** -24  # float32 unit roundoff (half an ulp of 1)

# exp(r) = 1 + r + r^2 * P(r), |r| <= ln2/2. Error relative to exp(r).
h = float(mp.log(2) / 2) * 1.0005
fit("exp P(r), (exp(r)-1-r)/r^2", np.concatenate([cheb(-h, h, 4000), [-h, h]]),
    lambda r: (mp.exp(r) - 1 - r) / r ** 2 if r != 0 else mp.mpf(0.5),
    [lambda r, k=k: r ** k for k in range(5)],
    lambda r: r * r / np.exp(r) / U)

# tanh(x) = x + x^3 * P(x^2), 0 <= x <= 0.625. Error relative to tanh(x).
fit("tanh P(z), z = x^2", cheb(1e-4, 0.625, 4000),
    lambda x: (mp.tanh(x) - x) / x ** 3,
    [lambda x, k=k: x ** (2 * k) for k in range(6)],
    lambda x: x ** 3 / np.tanh(x) / U)

# log(1+f) = f - f^2/2 + s*(f^2/2 + R(s^2)), s = f/(2+f), f in [sqrt(2)/2-1, sqrt(2)-1].
# R(z) = z*(c0 + c1 z + ...); error relative to log(1+f) (s * dR).
smax = float((mp.sqrt(2) - 1) / (mp.sqrt(2) + 1)) * 1.0001


def logR(s):
    f = 2 * s / (1 - s)
    hf = f * f / 2
    return (mp.log(1 + f) - f + hf) / s - hf


ss = np.concatenate([cheb(-smax, smax, 4000), [smax, -smax]])
ss = ss[np.abs(ss) > 1e-6]
fit("log R(z) = z*(c0 + c1 z + c2 z^2 + c3 z^3), z = s^2", ss, logR,
    [lambda s, k=k: s ** (2 * k + 2) for k in range(4)],
    lambda s: abs(s) / abs(np.log1p(2 * s / (1 - s))) / U)

# sin(z) = z + z^3 * S(z^2), cos(z) = 1 - z^2/2 + z^4 * C(z^2), |z| <= pi/4 (+ a little).
q = float(mp.pi / 4) * 1.001
zs = cheb(1e-4, q, 4000)
fit("sin S(z^2)", zs, lambda z: (mp.sin(z) - z) / z ** 3,
    [lambda z, k=k: z ** (2 * k) for k in range(3)],
    lambda z: z ** 3 / np.sin(z) / U)
fit("cos C(z^2)", zs, lambda z: (mp.cos(z) - 1 + z * z / 2) / z ** 4,
    [lambda z, k=k: z ** (2 * k) for k in range(3)],
    lambda z: z ** 4 / np.cos(z) / U)

# erf(x) = x + x * E(x^2 - 1/2) for 0 <= x <= 1. Error relative to erf(x).
# (E in powers of x^2 - 1/2 rather than x^2: its terms are smaller near
# x = 1, where they would otherwise cancel, so rounding errors are too.)
xs = cheb(1e-4, 1.0, 4000)
fit("erf small E(x^2 - 1/2)", xs, lambda x: mp.erf(x) / x - 1,
    [lambda x, k=k: (x * x - 0.5) ** k for k in range(7)],
    lambda x: x / float(mp.erf(x)) / U)

# erf(x) = 1 - exp(L(x - 1)) for 1 <= x <= 3.95 (erf rounds to 1 above
# 3.919): L ~ log(erfc(x)); the error that matters is erfc(x)*|dL| against
# ulp(erf(x)) = 2^-24 (x >= 1: 0.84 < erf < 1).
xs = cheb(1.0, 3.95, 6000)
fit("erf tail L(t), t = x - 1", xs, lambda x: mp.log(mp.erfc(x)),
    [lambda x, k=k: (x - 1) ** k for k in range(7)],
    lambda x: float(mp.erfc(x)) / (2 * U))

# sin, cos: pi/2 in four parts, the first three truncated to 10 significant
# bits (so that q*part is exact for q < 2^14), the last rounded to float32.
rem = mp.pi / 2
print("// pi/2 = pio2a + pio2b + pio2c + pio2d")
for i in range(4):
    if i < 3:
        m, e = mp.frexp(rem)
        part = float(mp.floor(m * 2 ** 10) * mp.mpf(2) ** (e - 10))
    else:
        part = f32(rem)
    bits = np.float32(part).view(np.uint32)
    print(f"\t{part!r:>26}, // 0x{bits:08x}")
    rem -= mp.mpf(part)
