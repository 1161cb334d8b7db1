// face-api's SSD MobileNet V1 face detector (@vladmandic/face-api 1.7.15, its own TensorFlow.js
// inference) over the labelled set written by scripts/face_eval_rgb.py: for each image, the best
// face score and the time of the detection. docs/MODERATION.md reads recall and false holds at
// several thresholds off one pass. Nothing of the package is committed; run it in a scratch folder:
//
//   npm i @vladmandic/face-api@1.7.15 @tensorflow/tfjs@4 @tensorflow/tfjs-backend-wasm@4
//   node face-eval-ssd.cjs RGB_DIR [cpu|wasm] > ssd.txt     # one line per image:
//   face|noface NAME WIDTH HEIGHT BEST_SCORE MILLISECONDS
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const fs = require('fs');
const path = require('path');

(async () => {
  const tf = faceapi.tf;
  const backend = process.argv[3] || 'cpu';
  if (backend === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + '/');
  }
  await tf.setBackend(backend);
  await tf.ready();
  const dir = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'ssd_mobilenetv1_model-weights_manifest.json')));
  const bin = fs.readFileSync(path.join(dir, 'ssd_mobilenetv1_model.bin'));
  const net = faceapi.nets.ssdMobilenetv1;
  net.loadFromWeightMap(tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length), manifest[0].weights));
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.01, maxResults: 100 });
  for (const label of ['face', 'noface']) {
    for (const file of fs.readdirSync(path.join(process.argv[2], label)).sort()) {
      const m = file.match(/^(.*)\.(\d+)x(\d+)\.rgb$/);
      if (!m) continue;
      const [w, h] = [Number(m[2]), Number(m[3])];
      const img = tf.tensor3d(new Uint8Array(fs.readFileSync(path.join(process.argv[2], label, file))), [h, w, 3], 'int32');
      const started = process.hrtime.bigint();
      const faces = await net.locateFaces(img, options);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const best = faces.reduce((b, f) => Math.max(b, f.score), 0);
      console.log(`${label} ${m[1]} ${w} ${h} ${best.toFixed(4)} ${ms.toFixed(1)}`);
      img.dispose();
    }
  }
})();
