#!/usr/bin/env node
'use strict';
/**
 * Measures the WebGL texture memory of a TF.js graph model in headless Chromium (SwiftShader):
 * for each size and each flag setting, a fresh page loads the model from 127.0.0.1, runs it once
 * and reports the peak texture bytes, the largest texture requested and whether it failed.
 *
 * usage: node profile_webgl.js --model DIR/model.json --chromium /usr/bin/chromium
 *          [--size 256 --size 512] [--config im2col:threshold ...] [--max-texture-size 4096]
 *          [--timeout-s 600] [--result FILE]
 * A config is `on:-1` (WEBGL_CONV_IM2COL on, textures never deleted: TF.js defaults),
 * `off:-1`, `off:0` (im2col off, textures deleted as soon as they are released), ...
 * --max-texture-size sets WEBGL_MAX_TEXTURE_SIZE (a phone's limit; 0 keeps the browser's).
 * Writes one JSON object to the --result file (lib/result.js; stdout without it):
 * {chromium, renderer, results: [...]}.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const {parseArgs} = require('util');
const {chromium} = require('playwright-core');
const {RESULT_OPTION, writeResult} = require('./lib/result');
const {serve} = require('./lib/server');

const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist',
];
const DEFAULT_CONFIGS = ['on:-1', 'off:-1', 'off:0'];

function options() {
  const {values} = parseArgs({
    options: {
      model: {type: 'string'},
      chromium: {type: 'string', default: '/usr/bin/chromium'},
      size: {type: 'string', multiple: true, default: ['256']},
      config: {type: 'string', multiple: true, default: DEFAULT_CONFIGS},
      'max-texture-size': {type: 'string', default: '4096'},
      'timeout-s': {type: 'string', default: '600'},
      ...RESULT_OPTION,
    },
  });
  if (!values.model) throw new Error('--model is required');
  if (!fs.existsSync(values.chromium)) throw new Error(`chromium not found at ${values.chromium}`);
  return values;
}

function parseConfig(text) {
  const [im2col, threshold] = text.split(':');
  return {im2col: im2col === 'on', deleteTextureThreshold: Number(threshold)};
}

function withTimeout(promise, seconds) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function main() {
  const args = options();
  const here = __dirname;
  const modelDir = path.dirname(path.resolve(args.model));
  const server = await serve({
    '/': path.join(here, 'webgl_page.html'),
    '/tf.min.js': require.resolve('@tensorflow/tfjs/dist/tf.min.js'),
    '/inputs.js': require.resolve('./lib/inputs'),
  }, modelDir);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelzoo-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: args.chromium, headless: true, args: CHROMIUM_FLAGS,
  });
  const results = [];
  let renderer = null;
  try {
    for (const size of args.size.map(Number)) {
      for (const config of args.config.map(parseConfig)) {
        const page = await context.newPage();
        try {
          await page.goto(`${origin}/`);
          await page.waitForFunction(() => window.modelzooReady === true);
          if (renderer === null) {
            renderer = await page.evaluate(() => {
              const gl = document.createElement('canvas').getContext('webgl2');
              const ext = gl && gl.getExtension('WEBGL_debug_renderer_info');
              return gl ? gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) : 'no WebGL2';
            });
          }
          const timeout = Number(args['timeout-s']);
          results.push(await withTimeout(page.evaluate((c) => measure(c), {size, maxTextureSize: Number(args['max-texture-size']), ...config}), timeout));
        } catch (error) {
          results.push({size, im2col: config.im2col, delete_texture_threshold: config.deleteTextureThreshold,
                        ok: false, error: String(error.message || error).split('\n')[0]});
        } finally {
          await page.close().catch(() => {});
        }
      }
    }
  } finally {
    await context.close();
    server.close();
    fs.rmSync(userDataDir, {recursive: true, force: true});
  }
  writeResult(args.result, {chromium: args.chromium, renderer, results});
}

main().catch((error) => {
  process.stderr.write(`error: ${error.stack || error}\n`);
  process.exit(1);
});
