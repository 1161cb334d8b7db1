// Writes tests/tiny_face_reference.txt: the raw output and the faces of face-api's own
// TinyFaceDetector (TensorFlow.js, CPU backend) on photographs of tests/fixtures/photos.
//
//   mkdir ref && cd ref && npm i @vladmandic/face-api@1.7.15 @tensorflow/tfjs@4 \
//       @tensorflow/tfjs-backend-wasm@4
//   python3 -c 'from PIL import Image; ...'   # each photo as raw RGB: NAME.WxH.rgb (see below)
//   node tiny_face_reference.cjs 416 astronaut.512x512.rgb grace_hopper.512x600.rgb \
//       > tiny_face_reference.txt
//
// A NAME.WxH.rgb file is the photo's pixels, 8-bit RGB, row by row (PIL's
// `Image.open(p).convert('RGB').tobytes()`). The weights are read from the package's model/.
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const fs = require('fs');
const path = require('path');

(async () => {
  const tf = faceapi.tf;
  await tf.setBackend('cpu');
  await tf.ready();
  const dir = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'tiny_face_detector_model-weights_manifest.json')));
  const bin = fs.readFileSync(path.join(dir, 'tiny_face_detector_model.bin'));
  const buffer = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length);
  const net = faceapi.nets.tinyFaceDetector;
  net.loadFromWeightMap(tf.io.decodeWeights(buffer, manifest[0].weights));
  const inputSize = parseInt(process.argv[2], 10);
  for (const file of process.argv.slice(3)) {
    const m = file.match(/([^/]*)\.(\d+)x(\d+)\.rgb$/);
    const [w, h] = [Number(m[2]), Number(m[3])];
    const img = tf.tensor3d(new Uint8Array(fs.readFileSync(file)), [h, w, 3], 'int32');
    const raw = net.forwardInput(await faceapi.toNetInput(img), inputSize);
    const values = Array.from(await raw.data()).map((v) => v.toPrecision(7));
    // "astronaut 512 512 416 -> 1 13 13 25", then the values, then "faces SCORE X Y W H ...".
    console.log(`${m[1]} ${w} ${h} ${inputSize} -> ${raw.shape.join(' ')}`);
    console.log(values.join(' '));
    const faces = await net.locateFaces(img, { inputSize, scoreThreshold: 0.5 });
    console.log(['faces', ...faces.flatMap((f) => [f.score, f.box.x, f.box.y, f.box.width, f.box.height]
      .map((v) => v.toPrecision(7)))].join(' '));
    raw.dispose();
  }
})();
