#!/usr/bin/env node
'use strict';
// Builds the web app into dist/ (the backend serves it: WEB_DIR): esbuild bundles the page
// (src/main.js, with the mini-program's client core) and the inference worker (src/worker.js,
// with TF.js); TF.js's WASM files, the styles, the PWA manifest and icons are copied or drawn; the
// service worker gets the list of shell files and a version from their contents.
//
//   node build.js [--out DIR]     (npm run build; `make install` runs it)

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');
const esbuild = require('esbuild');
const { encodePng } = require('../miniprogram/core/png');

const SRC = path.join(__dirname, 'src');
const WASM_DIR = path.join(__dirname, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');

// The icon: a white face on the accent colour, drawn pixel by pixel (no binary files in git).
function drawIcon(size) {
  const rgba = new Uint8ClampedArray(size * size * 4);
  const accent = [0xe4, 0x57, 0x2e];
  const ink = [0x22, 0x22, 0x22];
  const white = [0xff, 0xff, 0xff];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = (x + 0.5) / size - 0.5;
      const v = (y + 0.5) / size - 0.5;
      let colour = accent;
      if (Math.hypot(u, v) < 0.3) colour = white;
      if (Math.hypot(u + 0.1, v + 0.06) < 0.04 || Math.hypot(u - 0.1, v + 0.06) < 0.04) colour = ink;
      const r = Math.hypot(u, v - 0.02);
      if (v > 0.05 && r > 0.13 && r < 0.17) colour = ink;
      rgba.set([...colour, 255], (y * size + x) * 4);
    }
  }
  return encodePng(rgba, size, size);
}

function hashOf(files) {
  const hash = crypto.createHash('sha256');
  for (const file of files) hash.update(fs.readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

async function build(out) {
  fs.rmSync(out, { recursive: true, force: true });
  const assets = path.join(out, 'web');
  fs.mkdirSync(assets, { recursive: true });
  const common = { bundle: true, minify: true, sourcemap: true, target: ['chrome90', 'safari15', 'firefox100'], logLevel: 'warning' };
  await esbuild.build({ ...common, entryPoints: [path.join(SRC, 'main.js')], outfile: path.join(assets, 'app.js'), format: 'iife' });
  await esbuild.build({ ...common, entryPoints: [path.join(SRC, 'worker.js')], outfile: path.join(assets, 'worker.js'), format: 'iife' });
  for (const name of fs.readdirSync(WASM_DIR).filter((f) => f.endsWith('.wasm'))) {
    fs.copyFileSync(path.join(WASM_DIR, name), path.join(assets, name));
  }
  fs.copyFileSync(path.join(SRC, 'app.css'), path.join(assets, 'app.css'));
  fs.copyFileSync(path.join(SRC, 'index.html'), path.join(out, 'index.html'));
  fs.copyFileSync(path.join(SRC, 'manifest.webmanifest'), path.join(out, 'manifest.webmanifest'));
  for (const size of [192, 512]) fs.writeFileSync(path.join(assets, `icon-${size}.png`), drawIcon(size));

  const shell = ['index.html', 'manifest.webmanifest', ...fs.readdirSync(assets).filter((f) => !f.endsWith('.map')).map((f) => `web/${f}`)];
  const version = hashOf(shell.map((f) => path.join(out, f)));
  const urls = shell.map((f) => (f === 'index.html' ? '/' : `/${f}`));
  const worker = fs.readFileSync(path.join(SRC, 'sw.js'), 'utf8')
    .replace('__SHELL_VERSION__', version)
    .replace('__SHELL_FILES__', JSON.stringify(urls).replace(/'/g, "\\'"));
  fs.writeFileSync(path.join(out, 'sw.js'), worker);
  const bytes = shell.reduce((sum, f) => sum + fs.statSync(path.join(out, f)).size, 0);
  console.log(`web app built into ${out}: ${shell.length} shell files, ${(bytes / 1e6).toFixed(1)} MB, version ${version}`);
}

const { values } = parseArgs({ options: { out: { type: 'string', default: path.join(__dirname, 'dist') } } });
build(path.resolve(values.out)).catch((err) => {
  console.error(err.message);
  process.exit(1);
});
