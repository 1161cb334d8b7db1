"""Writes tests/reference.txt and tests/photo_reference.txt: the outputs of MTCNN's three ONNX nets (models/mtcnn_*.onnx) on
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

# Real photographs (tests/fixtures/photos, PNG so both sides read the same pixels): a square
# of `k · side` px from (x0, y0), every k-th pixel, as the detector feeds a crop — [1, x, y, 3]
# of (v - 127.5) / 128 — so that the face scores themselves are compared, not only values near 0.
from PIL import Image

PHOTO_CASES = [
    ("onet", "astronaut", 165, 80, 2, 48),
    ("rnet", "astronaut", 165, 80, 4, 24),
    ("onet", "chelsea", 150, 60, 2, 48),
    ("pnet", "astronaut", 0, 0, 8, 64),
]

with open("tests/photo_reference.txt", "w") as out:
    for net, photo, x0, y0, k, side in PHOTO_CASES:
        pixels = np.asarray(Image.open(f"../../tests/fixtures/photos/{photo}.png").convert("RGB"))
        crop = pixels[y0 : y0 + k * side : k, x0 : x0 + k * side : k].transpose(1, 0, 2)
        x = ((crop.astype(np.float32) - 127.5) * 0.0078125)[None].astype(np.float32)
        model = onnx.load(f"../../models/mtcnn_{net}.onnx")
        results = ReferenceEvaluator(model).run(None, {model.graph.input[0].name: x})
        for name, value in zip([o.name for o in model.graph.output], results):
            out.write(f"{net} {photo} {x0} {y0} {k} {side} -> {name} {' '.join(map(str, value.shape))}\n")
            out.write(" ".join(f"{v:.7g}" for v in value.ravel()) + "\n")
