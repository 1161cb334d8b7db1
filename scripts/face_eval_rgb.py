"""Writes every image of the labelled face set as raw 8-bit RGB (OUT/{face,noface}/NAME.WxH.rgb),
for detectors measured outside the server (scripts/face-eval-ssd.cjs). The LFW crops are made as
examples/face_eval.rs makes them: each 25×25 crop enlarged to 150×150 (bicubic, a = -0.5, i.e.
Catmull-Rom) and centred on a 400×400 mid-grey canvas.

    python3 scripts/face_eval_rgb.py WORK OUT     # WORK as scripts/face-eval.sh assembles it
"""

import sys
from pathlib import Path

import numpy as np
from PIL import Image

WORK, OUT = Path(sys.argv[1]), Path(sys.argv[2])


def write(image, label, name):
    rgb = image.convert("RGB")
    (OUT / label).mkdir(parents=True, exist_ok=True)
    (OUT / label / f"{name}.{rgb.width}x{rgb.height}.rgb").write_bytes(rgb.tobytes())


for label in ("face", "noface"):
    for path in sorted((WORK / "set" / label).iterdir()):
        write(Image.open(path), label, path.stem)

crops = np.load(WORK / "x" / "skimage" / "data" / "lfw_subset.npy")
for i, crop in enumerate(crops):
    small = Image.fromarray((np.clip(crop, 0, 1) * 255).round().astype(np.uint8), "L")
    canvas = Image.new("L", (400, 400), 128)
    canvas.paste(small.resize((150, 150), Image.BICUBIC), (125, 125))
    write(canvas, "face" if i < 100 else "noface", f"lfw_subset_{i}")
