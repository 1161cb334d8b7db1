"""Writes tests/reference.txt: the outputs of MTCNN's three ONNX nets (models/mtcnn_*.onnx) on
fixed inputs, computed by the ONNX project's own reference evaluator (PyPI `onnx` 1.23.2, numpy
2.4.6), for tests/reference.rs to compare with. Run from crates/cnn:
`pip install onnx numpy && python3 tests/reference.py`.

The input is x[n, i, j, c] = 0.9 * sin(0.37 * (1000 n + 31 i + 7 j + 3 c)) for each shape."""

import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator

CASES = [("pnet", (1, 16, 20, 3)), ("pnet", (2, 25, 13, 3)), ("rnet", (3, 24, 24, 3)), ("onet", (2, 48, 48, 3))]

def inputs(shape):
    n, i, j, c = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    return (0.9 * np.sin(0.37 * (1000 * n + 31 * i + 7 * j + 3 * c))).astype(np.float32)

with open("tests/reference.txt", "w") as out:
    for net, shape in CASES:
        model = onnx.load(f"../../models/mtcnn_{net}.onnx")
        results = ReferenceEvaluator(model).run(None, {model.graph.input[0].name: inputs(shape)})
        for name, value in zip([o.name for o in model.graph.output], results):
            out.write(f"{net} {' '.join(map(str, shape))} -> {name} {' '.join(map(str, value.shape))}\n")
            out.write(" ".join(f"{v:.7g}" for v in value.ravel()) + "\n")
