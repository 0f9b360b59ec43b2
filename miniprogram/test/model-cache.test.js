/**
 * @jest-environment node
 */
const { sha256 } = require('js-sha256');
const { createModelCache, decodeUtf8 } = require('../core/model-cache');
const { createMemFs } = require('./support/memfs');
const { tinyModelFiles, manifestFor, IDENTITY } = require('./support/tiny-model');

const ROOT = 'wxfile://usr/models';

// A server double: serves `files` by URL into the memory file system, counts
// requests, and can corrupt or cut off a download.
function setup({ limitBytes, fsLimit, reserveBytes = 0, now } = {}) {
  const fs = createMemFs({ limitBytes: fsLimit });
  const served = new Map();
  const requests = [];
  const faults = []; // per request: 'corrupt' | 'cut' | undefined
  async function download(url, filePath, onProgress) {
    requests.push(url);
    const body = served.get(url);
    if (!body) throw Object.assign(new Error('404'), { errMsg: 'downloadFile:fail 404' });
    const fault = faults.shift();
    if (fault === 'cut') {
      fs.putFile(filePath, body.subarray(0, Math.floor(body.length / 2)));
      throw { errMsg: 'downloadFile:fail interrupted' };
    }
    const data = Buffer.from(body);
    if (fault === 'corrupt') data[0] ^= 0xff;
    onProgress({ progress: 100, totalBytesWritten: data.length, totalBytesExpectedToWrite: data.length });
    fs.putFile(filePath, data);
  }
  const cache = createModelCache({
    fs, root: ROOT, download, sha256: (d) => sha256(d), limitBytes: limitBytes || 200 * 1024 * 1024, reserveBytes, now,
  });
  function publish(id, version, kernel = IDENTITY) {
    const files = tinyModelFiles(kernel);
    const manifest = manifestFor(files, { id, version });
    manifest.files.forEach((f) => served.set(f.url, files[f.path]));
    return manifest;
  }
  return { fs, cache, requests, faults, publish };
}

const storedPaths = (fs) => [...fs.files.keys()].filter((p) => !p.endsWith('index.json')).sort();

test('downloads, verifies and returns model.json and weights by their model.json paths', async () => {
  const { cache, requests, publish } = setup();
  const manifest = publish('hayao', 'v1');
  const progress = [];
  const { modelJson, weights } = await cache.load(manifest, { onProgress: (p) => progress.push(p.percent) });
  expect(modelJson.format).toBe('graph-model');
  expect(Object.keys(weights)).toEqual(['group1-shard1of1.bin']);
  expect(weights['group1-shard1of1.bin'].byteLength).toBe(36);
  expect(requests).toHaveLength(2);
  expect(progress[progress.length - 1]).toBe(100);
  expect(await cache.has(manifest)).toBe(true);
});

test('the second use of a style needs no download', async () => {
  const { cache, requests, publish } = setup();
  const manifest = publish('hayao', 'v1');
  await cache.load(manifest);
  requests.length = 0;
  await cache.load(manifest);
  expect(requests).toEqual([]);
});

test('a checksum mismatch after download deletes the file and downloads it again', async () => {
  const { cache, requests, faults, publish, fs } = setup();
  const manifest = publish('hayao', 'v1');
  faults.push('corrupt');
  await cache.load(manifest);
  expect(requests).toHaveLength(3); // model.json twice, the shard once
  expect(requests[0]).toBe(requests[1]);
  expect(storedPaths(fs).every((p) => !p.endsWith('.partial'))).toBe(true);
});

test('a file that keeps failing its checksum is reported, not used', async () => {
  const { cache, faults, publish, fs } = setup();
  const manifest = publish('hayao', 'v1');
  faults.push('corrupt', 'corrupt');
  await expect(cache.load(manifest)).rejects.toMatchObject({ code: 'checksum', retryable: true });
  expect(storedPaths(fs)).toEqual([]);
});

test('a file altered on disk is caught before use and downloaded again', async () => {
  const { cache, requests, publish, fs } = setup();
  const manifest = publish('hayao', 'v1');
  await cache.load(manifest);
  const shard = storedPaths(fs).find((p) => p.endsWith('.bin'));
  fs.files.get(shard)[3] ^= 0x01;
  requests.length = 0;
  const { weights } = await cache.load(manifest);
  expect(requests).toEqual([manifest.files[1].url]);
  expect(sha256(new Uint8Array(weights['group1-shard1of1.bin']))).toBe(manifest.files[1].sha256);
});

test('an interrupted download leaves nothing half-written in use and resumes by file', async () => {
  const { cache, requests, faults, publish, fs } = setup();
  const manifest = publish('hayao', 'v1');
  faults.push(undefined, 'cut'); // model.json arrives, the shard is cut off
  await expect(cache.load(manifest)).rejects.toMatchObject({ code: 'network' });
  expect(await cache.has(manifest)).toBe(false);
  expect(storedPaths(fs).some((p) => p.endsWith('.partial'))).toBe(false);

  requests.length = 0;
  await cache.load(manifest);
  expect(requests).toEqual([manifest.files[1].url]); // model.json was kept
  expect(await cache.has(manifest)).toBe(true);
});

test('a new version of a style evicts the old one', async () => {
  const { cache, publish, fs } = setup();
  await cache.load(publish('hayao', 'v1'));
  await cache.load(publish('hayao', 'v2'));
  const paths = storedPaths(fs);
  expect(paths.some((p) => p.includes('/hayao/v1/'))).toBe(false);
  expect(paths.some((p) => p.includes('/hayao/v2/'))).toBe(true);
});

test('least recently used styles are evicted to stay within the storage budget', async () => {
  let clock = 0;
  const probe = setup().publish('a', 'v1').bytes;
  const { cache, publish, fs } = setup({ limitBytes: Math.floor(probe * 2.5), now: () => ++clock });
  const a = publish('a', 'v1');
  const b = publish('b', 'v1');
  await cache.load(a);
  await cache.load(b);
  await cache.load(a); // a is now the most recently used
  await cache.load(publish('c', 'v1'));
  const paths = storedPaths(fs);
  expect(paths.some((p) => p.includes('/b/'))).toBe(false);
  expect(paths.some((p) => p.includes('/a/'))).toBe(true);
  expect(paths.some((p) => p.includes('/c/'))).toBe(true);
  const stored = storedPaths(fs).reduce((sum, p) => sum + fs.files.get(p).length, 0);
  expect(stored).toBeLessThanOrEqual(probe * 2.5);
});

test('a variant larger than the whole budget is refused with a clear error', async () => {
  const { cache, publish } = setup({ limitBytes: 100 });
  await expect(cache.load(publish('a', 'v1'))).rejects.toMatchObject({ code: 'storage_full' });
});

test('when the platform reports the 200 MB limit, other styles are dropped and the download retried', async () => {
  const probe = setup().publish('a', 'v1').bytes;
  // The cache's own budget would allow three styles; the phone's files allow fewer.
  const { cache, publish, fs } = setup({ fsLimit: Math.floor(probe * 2.6) });
  await cache.load(publish('a', 'v1'));
  await cache.load(publish('b', 'v1'));
  fs.putFile('wxfile://usr/other.bin', Buffer.alloc(Math.floor(probe * 0.3))); // other files count too
  await cache.load(publish('c', 'v1'));
  const paths = storedPaths(fs);
  expect(paths.some((p) => p.includes('/c/'))).toBe(true);
  expect(paths.some((p) => p.includes('/a/') || p.includes('/b/'))).toBe(false);
});

test('UTF-8 is decoded as TextDecoder does, without the deprecated escape()', () => {
  for (const text of ['', 'model.json', '{"name": "卡通相机"}', 'emoji 😀 and 𝄞', 'é'.repeat(20000)]) {
    expect(decodeUtf8(new TextEncoder().encode(text).buffer)).toBe(text);
  }
  const malformed = new Uint8Array([0x61, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0xff, 0x62]); // overlong, surrogate, 0xff
  expect(decodeUtf8(malformed.buffer)).toBe(new TextDecoder().decode(malformed));
  expect(decodeUtf8('already text')).toBe('already text');
});
