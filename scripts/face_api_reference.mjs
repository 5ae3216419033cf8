// Reference outputs of face-api's own FaceExpressionNet (TFJS, CPU backend) for 112x112 RGB crops.
//   node scripts/face_api_reference.mjs PACKAGE_DIR CROPS.bin N > out.json
// CROPS.bin: N x 112 x 112 x 3 uint8 RGB (what facebench's preprocessing resizes to); prints
// {"logits": [[7]...], "embedding": [[256]...]} from face-api's runNet and its feature extractor.
import fs from 'fs';
import os from 'os';
import path from 'path';
import { pathToFileURL } from 'url';
import { createRequire } from 'module';

globalThis.require = createRequire(import.meta.url);

const [pkg, cropsPath, nStr] = process.argv.slice(2);
// the browser bundle stubs node's util module out: point its node platform at the real one
const bundle = fs.readFileSync(path.join(pkg, 'dist/face-api.esm.js'), 'utf8').replace(/this\.util=\w+\(\)/, "this.util=globalThis.require('util')");
const patched = path.join(os.tmpdir(), `face-api-ref-${process.pid}.mjs`);
fs.writeFileSync(patched, bundle);
const faceapi = await import(pathToFileURL(patched).href);
fs.unlinkSync(patched);
const tf = faceapi.tf;
await tf.setBackend('cpu');
await tf.ready();
const model = path.join(pkg, 'model');
const manifest = JSON.parse(fs.readFileSync(path.join(model, 'face_expression_model-weights_manifest.json')));
const specs = manifest.flatMap((g) => g.weights);
const bufs = manifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(model, p))));
const all = Buffer.concat(bufs);
const weightMap = tf.io.decodeWeights(all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength), specs);
const net = faceapi.nets.faceExpressionNet;
net.loadFromWeightMap(weightMap);
const n = Number(nStr);
const raw = fs.readFileSync(cropsPath);
const x = tf.tensor4d(new Uint8Array(raw.buffer, raw.byteOffset, n * 112 * 112 * 3), [n, 112, 112, 3], 'int32');
const input = await faceapi.toNetInput(tf.unstack(x));
const emb = net.faceFeatureExtractor.forwardInput(input);
const logits = net.runNet(input);
console.log(JSON.stringify({ backend: tf.getBackend(), tfjs: tf.version_core, logits: await logits.array(), embedding: (await emb.reshape([n, -1]).array()) }));
