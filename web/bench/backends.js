#!/usr/bin/env node
'use strict';
// Which engine the web app should stylize with, measured in Debian's Chromium (headless; WebGL
// through SwiftShader, so the GPU is this machine's CPU): the web app's own inference worker
// (web/dist/web/worker.js, TF.js) on WebGL and on WASM, and ONNX Runtime Web (WASM) on the
// package's ONNX variant; and TF.js on WebGPU (the same worker bundled here, in memory and only
// when the webgpu engine is asked for, with @tensorflow/tfjs-backend-webgpu, a dev dependency: the
// app does not ship it), which needs Chromium's --enable-unsafe-webgpu on Linux (here a
// SwiftShader Vulkan adapter, the CPU again). Writes no files.
// Prints the first run (shader compilation, warm-up) and the median of the next runs per size, in
// ms, and the WebGPU adapter. docs/web.md quotes the figures.
//
//   npm run build --prefix web
//   node web/bench/backends.js --package modelzoo-build/hayao/<version> [--size 256 --size 512] [--runs 3]
//     [--engine webgl --engine wasm --engine ort --engine webgpu]   (default: all four)
//     [--variant uint8]   (TF.js: the variant timed; default float16, and uint8 on WebGL too)

const fs = require('fs');
const http = require('http');
const path = require('path');
const { parseArgs } = require('util');
const esbuild = require('esbuild');
const { chromium } = require('playwright-core');

const WEB = path.join(__dirname, '..');
const ORT = path.join(WEB, '../miniprogram/node_modules/onnxruntime-web/dist');
const CHROMIUM_FLAGS = [
  '--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist', '--enable-unsafe-webgpu',
];
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm' };

// The app's worker with TF.js's WebGPU backend added: the bundle's text, kept in memory (no file
// written; esbuild reads the entry from stdin and resolves it from web/src).
async function buildWebgpuWorker() {
  const result = await esbuild.build({
    stdin: { contents: "import '@tensorflow/tfjs-backend-webgpu';\nimport './worker.js';\n", resolveDir: path.join(WEB, 'src') },
    bundle: true, minify: true, format: 'iife', logLevel: 'warning', write: false, outfile: 'worker-webgpu.js',
  });
  return result.outputFiles[0].contents;
}

// / is an empty page; /web/ the built web app's files, /ort/ ONNX Runtime Web, /model/ the
// package; /bench/worker-webgpu.js the WebGPU worker's bundle (`webgpuWorker`, when built).
function serve(packageDir, webgpuWorker) {
  const roots = { '/web/': path.join(WEB, 'dist/web'), '/ort/': ORT, '/model/': packageDir };
  const server = http.createServer((request, response) => {
    const url = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname);
    if (url === '/') return response.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>bench</title>');
    if (url === '/bench/worker-webgpu.js' && webgpuWorker) {
      return response.writeHead(200, { 'Content-Type': 'text/javascript' }).end(webgpuWorker);
    }
    const prefix = Object.keys(roots).find((p) => url.startsWith(p));
    const file = prefix && path.resolve(roots[prefix], url.slice(prefix.length));
    if (!file || !file.startsWith(path.resolve(roots[prefix]) + path.sep) || !fs.existsSync(file)) {
      return response.writeHead(404).end('not found');
    }
    response.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
    return fs.createReadStream(file).pipe(response);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// In the page: the web app's worker with one TF.js backend; [{ size, first, median }].
async function timeWorker({ backend, manifest, variant, sizes, runs }) {
  const worker = new Worker(backend === 'webgpu' ? '/bench/worker-webgpu.js' : '/web/worker.js');
  let nextId = 1;
  const pending = new Map();
  worker.onmessage = ({ data }) => {
    if (!data.id) return;
    const { resolve, reject } = pending.get(data.id);
    if (data.error) reject(new Error(data.error.message));
    else resolve(data.result);
  };
  const call = (method, args, transfer = []) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, method, args }, transfer);
  });
  const started = await call('init', { backends: [backend] });
  if (started.backend !== backend) throw new Error(`${backend} did not start`);
  const modelUrl = `/model/${manifest.variants[variant].model}`;
  const modelJson = await (await fetch(modelUrl)).json();
  const folder = modelUrl.slice(0, modelUrl.lastIndexOf('/') + 1);
  const weightSpecs = [];
  const buffers = [];
  for (const group of modelJson.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) buffers.push(new Uint8Array(await (await fetch(folder + p)).arrayBuffer()));
  }
  const weightData = new Uint8Array(buffers.reduce((n, b) => n + b.length, 0));
  buffers.reduce((offset, b) => { weightData.set(b, offset); return offset + b.length; }, 0);
  const artifacts = { modelTopology: modelJson.modelTopology, format: modelJson.format, weightSpecs, weightData: weightData.buffer };
  await call('use', { key: variant, artifacts, options: { input: manifest.input, webglSettings: manifest.webgl_settings } }, [weightData.buffer]);
  const results = [];
  for (const size of sizes) {
    const times = [];
    for (let run = 0; run <= runs; run++) {
      const rgba = new Uint8ClampedArray(size * (size * 3 / 4) * 4).map((_, i) => (i * 7) % 256);
      // A context network (manifest.input.context) also takes the picture squeezed: a grey one
      // of its size costs what any does.
      const side = manifest.input.context && manifest.input.context.size;
      const context = side ? new Uint8ClampedArray(side * side * 4).fill(128) : undefined;
      const t0 = performance.now();
      await call('stylize', { rgba, width: size, height: size * 3 / 4, context }, [rgba.buffer]);
      times.push(performance.now() - t0);
    }
    const rest = times.slice(1).sort((a, b) => a - b);
    results.push({ size, first: Math.round(times[0]), median: Math.round(rest[Math.floor(rest.length / 2)]) });
  }
  worker.terminate();
  return results;
}

// In the page: ONNX Runtime Web (WASM, one thread as the page is not cross-origin isolated).
async function timeOrt({ manifest, sizes, runs }) {
  /* global ort */
  ort.env.wasm.wasmPaths = '/ort/';
  const session = await ort.InferenceSession.create(`/model/${manifest.variants.onnx.model}`, { executionProviders: ['wasm'] });
  // The input names are the ONNX variant's signature (docs/modelzoo-format.md).
  const { signature } = manifest.variants.onnx;
  const results = [];
  for (const size of sizes) {
    const times = [];
    for (let run = 0; run <= runs; run++) {
      const height = size * 3 / 4;
      const data = new Float32Array(height * size * 3).map((_, i) => ((i * 7) % 256) / 127.5 - 1);
      const t0 = performance.now();
      const feeds = { [signature.input]: new ort.Tensor('float32', data, [1, height, size, 3]) };
      const side = manifest.input.context && manifest.input.context.size;
      if (side) feeds[signature.context] = new ort.Tensor('float32', new Float32Array(side * side * 3), [1, side, side, 3]);
      const output = await session.run(feeds);
      Object.values(output).forEach((tensor) => tensor.dispose && tensor.dispose());
      times.push(performance.now() - t0);
    }
    const rest = times.slice(1).sort((a, b) => a - b);
    results.push({ size, first: Math.round(times[0]), median: Math.round(rest[Math.floor(rest.length / 2)]) });
  }
  return results;
}

async function main() {
  const { values } = parseArgs({
    options: {
      package: { type: 'string' },
      size: { type: 'string', multiple: true, default: ['256', '512'] },
      runs: { type: 'string', default: '3' },
      engine: { type: 'string', multiple: true, default: ['webgl', 'wasm', 'ort', 'webgpu'] },
      variant: { type: 'string', multiple: true, default: ['float16', 'uint8'] },
      chromium: { type: 'string', default: '/usr/bin/chromium' },
    },
  });
  if (!values.package) throw new Error('--package DIR (a model zoo package with manifest.json) is required');
  if (!fs.existsSync(path.join(WEB, 'dist/web/worker.js'))) throw new Error('build the web app first: npm run build --prefix web');
  const manifest = JSON.parse(fs.readFileSync(path.join(values.package, 'manifest.json'), 'utf8'));
  const sizes = values.size.map(Number);
  const runs = Number(values.runs);
  const webgpuWorker = values.engine.includes('webgpu') ? await buildWebgpuWorker() : null;
  const server = await serve(path.resolve(values.package), webgpuWorker);
  const browser = await chromium.launch({ executablePath: values.chromium, args: CHROMIUM_FLAGS });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    console.log(`${manifest.id} ${manifest.version}, ${sizes.join(', ')} px wide (4:3), median of ${runs} runs after the first; `
      + `WebGPU adapter: ${await page.evaluate(async () => {
        const adapter = navigator.gpu && await navigator.gpu.requestAdapter();
        return adapter ? JSON.stringify({ vendor: adapter.info.vendor, architecture: adapter.info.architecture }) : 'none';
      })}`);
    const rows = [];
    const [first, ...others] = values.variant;
    const engines = [['webgl', first], ...others.map((v) => ['webgl', v]), ['wasm', first], ['webgpu', first]];
    for (const [engine, variant] of engines.filter(([name]) => values.engine.includes(name))) {
      try {
        const results = await page.evaluate(timeWorker, { backend: engine, manifest, variant, sizes, runs });
        rows.push([`TF.js ${engine} (worker), ${variant}`, results]);
      } catch (err) {
        console.log(`TF.js ${engine} (worker), ${variant}: failed: ${err.message.split('\n')[0]}`);
      }
    }
    if (values.engine.includes('ort')) {
      await page.addScriptTag({ url: '/ort/ort.wasm.min.js' });
      rows.push(['ONNX Runtime Web wasm, onnx', await page.evaluate(timeOrt, { manifest, sizes, runs })]);
    }
    for (const [name, results] of rows) {
      console.log(`${name.padEnd(36)} ${results.map((r) => `${r.size}: first ${r.first} ms, then ${r.median} ms`).join(' | ')}`);
    }
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
