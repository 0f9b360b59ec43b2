/**
 * @jest-environment node
 */
// Against the real thing, started from this test:
//  (a) the on-device pipeline (TF.js + WASM in Node) on a package built here by
//      `python -m modelzoo build`, compared with the server's output for the same
//      photo and size (the backend's own job code), within the variant's parity figure;
//  (b) end to end over real HTTP: the backend (flask, localhost, free port) and the
//      fake WeChat server, driven through the client modules: login (with a silent
//      renewal) → styles → plan → download and verify the model → stylize on
//      "device" → server job fallback → share link.
// The package is the small random generator of modelzoo.testing (seconds to build);
// CARTOON_E2E_STYLE=hayao builds a published CartoonGAN style instead (minutes).

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { PNG } = require('pngjs');
const { sha256 } = require('js-sha256');
const { tf, loadGraphModel, ready } = require('../support/tfjs');

const { createApi } = require('../../core/api');
const { createModelCache, wxDownloader } = require('../../core/model-cache');
const { createStylizer, graphModelArtifacts } = require('../../core/pipeline');
const { createSession } = require('../../core/session');
const { readDeviceFacts, planRequest } = require('../../core/plan');
const { writePicture } = require('../../core/image');
const { psnr } = require('../support/psnr');
const { createWechatStylizer } = require('../../lib/wechat-engine');
const { createInferenceSessionDouble, closeWorker } = require('../support/inference-session');

afterAll(closeWorker);
const { createMemFs } = require('../support/memfs');
const { createNodeWx } = require('../support/node-wx');
const P = require('./processes');

// A checkout without the Python side (modelzoo, backend, .venv) fails here, saying what is missing:
// these tests are never skipped.
const reason = P.missingPrerequisites();
test('the model zoo and the backend are available to the integration tests', () => {
  expect(reason).toBeNull();
});
const describeReal = reason ? () => {} : describe;

const STYLE = process.env.CARTOON_E2E_STYLE || 'tiny';
const LONG_SIDE = 256;

jest.setTimeout(15 * 60 * 1000);

function readPng(file) {
  const png = PNG.sync.read(fs.readFileSync(file));
  return { width: png.width, height: png.height, rgba: new Uint8ClampedArray(png.data) };
}

function writePngFile(file, rgba, width, height) {
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba);
  fs.writeFileSync(file, PNG.sync.write(png));
  return file;
}

describeReal('with a model zoo package and the backend', () => {
  let work;
  let zooDir;
  let manifest; // the package's manifest.json
  let packageDir;
  let photo; // the original photo
  let serverInput; // the photo as resized by the server
  let serverOutput; // the server's result

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'cartoon-miniprogram-'));
    zooDir = path.join(work, 'zoo');
    if (STYLE === 'tiny') {
      await P.python([path.join(__dirname, 'make_generator.py'), path.join(work, 'tiny.keras'), 'tiny']);
      await P.python(['-m', 'modelzoo', 'build', '--keras', path.join(work, 'tiny.keras'), '--output', zooDir,
        '--profile-sizes', '', '--parity-photos', '1']);
    } else {
      await P.python(['-m', 'modelzoo', 'build', '--published', STYLE, '--output', zooDir,
        '--profile-sizes', '', '--parity-photos', '1'], { timeout: 14 * 60 * 1000 });
    }
    const catalogue = JSON.parse(fs.readFileSync(path.join(zooDir, 'catalogue.json'), 'utf8'));
    const entry = catalogue.styles.find((s) => s.id === STYLE);
    manifest = JSON.parse(fs.readFileSync(path.join(zooDir, entry.manifest), 'utf8'));
    packageDir = path.dirname(path.join(zooDir, entry.manifest));

    photo = path.join(P.PHOTOS, fs.readdirSync(P.PHOTOS).filter((f) => /\.jpe?g$/i.test(f)).sort()[0]);
    await P.python([path.join(__dirname, 'server_stylize.py'), zooDir, STYLE, photo, String(LONG_SIDE),
      path.join(work, 'input.png'), path.join(work, 'server.png')]);
    serverInput = readPng(path.join(work, 'input.png'));
    serverOutput = readPng(path.join(work, 'server.png'));

    await ready();
  });

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  describe('(a) the on-device pipeline reproduces the server', () => {
    // The package's files as the backend's manifest lists them, "downloaded" from the
    // package folder into an in-memory phone file system by the real model cache.
    function phoneCache() {
      const memfs = createMemFs();
      const download = async (url, filePath) => memfs.putFile(filePath, fs.readFileSync(new URL(url)));
      return createModelCache({ fs: memfs, root: 'wxfile://usr/models', download, sha256: (d) => sha256(d) });
    }

    function apiManifest(variant) {
      const v = manifest.variants[variant];
      return {
        id: manifest.id, version: manifest.version, variant, input: manifest.input,
        model_url: `file://${path.join(packageDir, v.model)}`,
        files: v.files.map((f) => Object.assign({}, f, { url: `file://${path.join(packageDir, f.path)}` })),
        bytes: v.bytes, webgl_settings: manifest.webgl_settings,
      };
    }

    test.each(['uint8', 'float16'])('%s variant, same photo and size as the server', async (variant) => {
      const parity = manifest.variants[variant].parity;
      const m = apiManifest(variant);
      const { modelJson, weights } = await phoneCache().load(m);
      const stylizer = createStylizer({ tf, loadGraphModel });
      await stylizer.use(`${m.id}/${m.version}/${variant}`, async () => graphModelArtifacts(modelJson, weights),
        { input: m.input, webglSettings: m.webgl_settings });
      const baseline = tf.memory().numTensors;

      const { width, height, rgba } = serverInput;
      expect(Math.max(width, height)).toBe(LONG_SIDE);
      const out = await stylizer.stylize(rgba, width, height);
      expect(tf.memory().numTensors).toBe(baseline);
      stylizer.unload();

      expect([serverOutput.width, serverOutput.height]).toEqual([width, height]);
      const db = psnr(out, serverOutput.rgba);
      console.log(`${STYLE} ${variant} on device vs server at ${width}x${height}: ${db.toFixed(2)} dB `
        + `(manifest parity ${parity.psnr_db} dB, threshold ${parity.threshold_db} dB)`);
      expect(db).toBeGreaterThanOrEqual(parity.threshold_db);
    });
  });

  describe("(a') WeChat's inference engine on the wechat variant, photo pixels to exported PNG", () => {
    test('the wechat ONNX model through the engine double and the PNG export matches the server', async () => {
      const v = manifest.variants.wechat;
      const memfs = createMemFs();
      memfs.mkdir({ dirPath: 'wxfile://usr', recursive: true });
      const cache = createModelCache({
        fs: memfs, root: 'wxfile://usr/models', sha256: (d) => sha256(d),
        download: async (url, filePath) => memfs.putFile(filePath, fs.readFileSync(new URL(url))),
      });
      const served = {
        id: manifest.id, version: manifest.version, variant: 'wechat', input: manifest.input, signature: v.signature,
        model_url: `file://${path.join(packageDir, v.model)}`, bytes: v.bytes,
        files: v.files.map((f) => Object.assign({}, f, { url: `file://${path.join(packageDir, f.path)}` })),
      };
      const engine = createInferenceSessionDouble((p) => memfs.files.get(p));
      const wx = { env: { USER_DATA_PATH: 'wxfile://usr' }, getFileSystemManager: () => memfs, createInferenceSession: engine.createInferenceSession };
      const stylizer = createWechatStylizer({ wx });
      await stylizer.use('k', () => cache.modelPath(served), {
        input: served.input, signature: served.signature, precisionLevel: v.engine.precision_level,
      });
      const { width, height, rgba } = serverInput;
      const out = await stylizer.stylize(rgba, width, height);
      const file = await writePicture(wx, out, width, height);
      const exported = PNG.sync.read(memfs.files.get(file));
      stylizer.unload();
      expect(engine.alive()).toBe(0);
      expect([exported.width, exported.height]).toEqual([serverOutput.width, serverOutput.height]);
      const db = psnr(new Uint8ClampedArray(exported.data), serverOutput.rgba);
      console.log(`${STYLE} wechat variant (precision level ${v.engine.precision_level}) exported PNG vs server at ${width}x${height}: `
        + `${db.toFixed(2)} dB; operators not confirmed by the engine's list: ${v.engine.unconfirmed_operators.join(', ') || 'none'}`);
      expect(db).toBeGreaterThanOrEqual(v.parity.threshold_db - 30); // 8-bit rounding on both sides: ≥ 50 dB
    });
  });

  describe('(b) end to end over real HTTP', () => {
    const PUSH_TOKEN = 'e2e-push-token';
    let fakeWechat;
    let backend;
    let base;

    beforeAll(async () => {
      fakeWechat = P.startPython([path.join(__dirname, 'fake_wechat.py')]);
      const wechatUrl = await P.firstLine(fakeWechat);
      const port = await P.freePort();
      base = `http://127.0.0.1:${port}`;
      backend = P.startPython(['-m', 'flask', '--app', 'backend', 'run', '--host', '127.0.0.1', '--port', String(port),
        '--no-reload', '--no-debugger'], {
        APP_ENV: 'production',
        SECRET_KEY: 'e2e-secret',
        DATABASE_URL: `sqlite:///${path.join(work, 'backend.sqlite')}`,
        RESULTS_DIR: path.join(work, 'results'),
        MODELZOO_DIR: zooDir,
        WECHAT_APPID: 'wx-e2e',
        WECHAT_SECRET: 'e2e-app-secret',
        WECHAT_API_BASE: wechatUrl,
        WECHAT_TIMEOUT: '2',
        WECHAT_PUSH_TOKEN: PUSH_TOKEN,
      });
      await P.waitForHttp(`${base}/readyz`, backend);
    });

    afterAll(async () => {
      await P.stop(backend);
      await P.stop(fakeWechat);
    });

    // WeChat's message push with the verdict of media_check_async (signed with the push token).
    async function pushVerdict(traceId, suggest) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const nonce = 'n1';
      const signature = crypto.createHash('sha1').update([PUSH_TOKEN, timestamp, nonce].sort().join('')).digest('hex');
      const res = await fetch(`${base}/api/v1/wechat/events?signature=${signature}&timestamp=${timestamp}&nonce=${nonce}`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ Event: 'wxa_media_check', trace_id: traceId, result: { suggest } }),
      });
      expect(res.status).toBe(200);
    }

    test('login → styles → plan → model → device → server fallback → share link', async () => {
      const phone = createNodeWx({ dir: path.join(work, 'phone') });
      const { wx } = phone;

      // login on first use: wx.login's code → the backend → the fake WeChat's jscode2session
      const firstRun = createApi({ wx, baseUrl: base });
      await firstRun.styles();
      expect(phone.log.filter((e) => e.url.endsWith('/api/v1/auth/login')).map((e) => e.status)).toEqual([200]);
      expect(wx.getStorageSync('cartoon_token')).toBe(firstRun.token);

      // a later launch finds an expired token: the first call that needs it gets a 401
      // and the client logs in again by itself (checked after the server job below)
      wx.setStorageSync('cartoon_token', 'expired-token-from-last-week');
      const api = createApi({ wx, baseUrl: base });
      const styles = await api.styles();
      const style = styles.find((s) => s.id === STYLE);
      expect(style).toMatchObject({ version: manifest.version, variants: { uint8: { bytes: manifest.variants.uint8.bytes } } });

      // plan for this phone and photo
      const original = { path: photo, width: 0, height: 0 };
      const { execFileSync } = require('child_process');
      const size = execFileSync(P.PYTHON, ['-c', 'import sys; from PIL import Image, ImageOps; '
        + 'i = ImageOps.exif_transpose(Image.open(sys.argv[1])); print(*i.size)', photo]).toString().trim().split(' ');
      original.width = Number(size[0]);
      original.height = Number(size[1]);
      const plan = await api.plan(planRequest(await readDeviceFacts(wx), STYLE, original, 4096));
      expect(plan).toMatchObject({ where: 'device', long_side: LONG_SIDE });
      expect(['uint8', 'float16']).toContain(plan.variant); // float16 for this 8 GB phone

      // download and verify the model; the second use downloads nothing
      const cache = createModelCache({
        fs: wx.getFileSystemManager(), root: `${wx.env.USER_DATA_PATH}/models`, download: wxDownloader(wx),
        sha256: (d) => sha256(d),
      });
      const served = await api.manifest(STYLE, plan.variant);
      await cache.load(served);
      const downloads = () => phone.log.filter((e) => e.kind === 'download' && e.url.includes('/models/')).length;
      expect(downloads()).toBe(served.files.length);
      await cache.load(served);
      expect(downloads()).toBe(served.files.length);

      // stylize on "device": the session, over HTTP, with TF.js (WASM); the canvas
      // resize is stood in for by the pixels the server resized
      const stylizer = createStylizer({ tf, loadGraphModel });
      const session = createSession({
        wx, api, cache, engines: { tfjs: stylizer, wechat: null }, maxTextureSize: () => 4096,
        readPixels: async (w, p, width, height) => {
          expect([p, width, height]).toEqual([photo, serverInput.width, serverInput.height]);
          return serverInput.rgba;
        },
        writePicture: async (w, rgba, width, height) => writePngFile(path.join(phone.tmp, 'device.png'), rgba, width, height),
      });
      const states = [];
      const onDevice = await session.run({ photo: original, style, onState: (s) => states.push(s.step) });
      expect(onDevice.where).toBe('device');
      expect(downloads()).toBe(served.files.length); // cached: no download
      const deviceResult = readPng(onDevice.path);
      const threshold = manifest.variants[plan.variant].parity.threshold_db;
      expect(psnr(deviceResult.rgba, serverOutput.rgba)).toBeGreaterThanOrEqual(threshold);

      // server job fallback (after a critical memory warning): upload, poll, download
      session.memoryWarning(15);
      states.length = 0;
      const onServer = await session.run({ photo: original, style, onState: (s) => states.push(s.step) });
      expect(onServer).toMatchObject({ where: 'server', fallbackReason: 'memory warnings' });
      expect(states).toEqual(expect.arrayContaining(['planning', 'uploading', 'waiting', 'fetching']));
      const serverResult = readPng(onServer.path);
      expect([serverResult.width, serverResult.height]).toEqual([deviceResult.width, deviceResult.height]);
      expect(psnr(serverResult.rgba, deviceResult.rgba)).toBeGreaterThanOrEqual(threshold);
      expect(phone.log.filter((e) => e.status === 401).map((e) => e.url)).toEqual([`${base}/api/v1/jobs`]);
      expect(api.token).not.toBe('expired-token-from-last-week');

      // share link: held while WeChat's content check is pending, public once it passed
      await expect(api.share(onServer.resultId)).rejects.toMatchObject({ code: 'content_check_pending' });
      await pushVerdict('trace-1', 'pass');
      const url = await session.shareLink(onServer);
      const shared = await fetch(url); // no token: public
      expect(shared.status).toBe(200);
      expect(shared.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await shared.arrayBuffer()).equals(fs.readFileSync(onServer.path))).toBe(true);

      // errors over HTTP become messages a person understands
      await expect(api.manifest('no-such-style', 'uint8')).rejects.toMatchObject({ code: 'not_found' });
      stylizer.unload();
    });
  });
});
