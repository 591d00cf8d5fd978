"""Reference steps of torch.optim.Adam, AdamW and SGD for optim's tests.

Run with /usr/bin/python3 (PyTorch 1.13) from this directory:

    /usr/bin/python3 torch_steps.py > torch_steps.json

For each configuration: two parameter tensors, shapes (2, 3) and (3,),
with fixed starting values; five steps, each with the given gradients
(drawn from a seeded generator); the parameters after every step.
"""
import json

import torch

torch.set_default_dtype(torch.float64)

CONFIGS = [
    ("adam", dict()),
    ("adam", dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("adamw", dict()),
    ("adamw", dict(lr=1e-2, betas=(0.5, 0.9), weight_decay=0.3)),
    ("sgd", dict(lr=0.1)),
    ("sgd", dict(lr=0.05, momentum=0.9)),
    ("sgd", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("sgd", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.02)),
]
STEPS = 5


def run(kind, kw, seed):
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(2, 3, generator=g), torch.randn(3, generator=g)]
    start = [p.clone() for p in params]
    opt = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[kind](params, **kw)
    steps = []
    for _ in range(STEPS):
        grads = [torch.randn(p.shape, generator=g) * 3 for p in params]
        for p, gr in zip(params, grads):
            p.grad = gr.clone()
        opt.step()
        steps.append(dict(grads=[gr.flatten().tolist() for gr in grads],
                          params=[p.detach().flatten().tolist() for p in params]))
    cfg = dict(kw)
    if "betas" in cfg:
        cfg["betas"] = list(cfg["betas"])
    return dict(kind=kind, config=cfg, shapes=[list(p.shape) for p in params],
                start=[p.flatten().tolist() for p in start], steps=steps)


out = dict(torch=torch.__version__, cases=[run(k, kw, i) for i, (k, kw) in enumerate(CONFIGS)])
print(json.dumps(out, separators=(",", ":")))
