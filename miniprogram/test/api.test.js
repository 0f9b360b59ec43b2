/**
 * @jest-environment node
 */
const { createApi } = require('../core/api');
const { createWxHttp, json, error } = require('./support/wx-http');

const BASE = 'https://api.test';
const noSleep = () => Promise.resolve();

// A backend double: tokens are "t-<code>"; `valid` holds the tokens it accepts.
function backend(routes = {}) {
  const valid = new Set();
  return {
    valid,
    handler(req) {
      const path = req.url.slice(BASE.length);
      if (path === '/api/v1/auth/anonymous') {
        const token = `anon-${valid.size + 1}`;
        valid.add(token);
        return json(200, { token, expires_in: 3600, user: { id: 2 }, anonymous: true });
      }
      if (path === '/api/v1/auth/login') {
        const token = `t-${req.data.code}`;
        valid.add(token);
        return json(200, { token, expires_in: 3600, user: { id: 1 } });
      }
      const auth = (req.header.Authorization || '').replace('Bearer ', '');
      if (!valid.has(auth)) return error(401, 'unauthorized');
      const route = routes[`${req.method} ${path.split('?')[0]}`];
      return route ? route(req) : error(404, 'not_found');
    },
  };
}

test('logs in with wx.login on first use and sends the token', async () => {
  const server = backend({ 'GET /api/v1/styles': () => json(200, { styles: [{ id: 'hayao' }] }) });
  const { wx, calls } = createWxHttp(server.handler);
  const api = createApi({ wx, baseUrl: BASE });
  expect(await api.styles()).toEqual([{ id: 'hayao' }]);
  expect(calls.map((c) => c.url)).toEqual([`${BASE}/api/v1/auth/login`, `${BASE}/api/v1/styles`]);
  expect(calls[0].data).toEqual({ code: 'code-1' });
  expect(calls[1].header.Authorization).toBe('Bearer t-code-1');
});

test('a browser without WeChat logs in anonymously, and renews the same way', async () => {
  const server = backend({ 'GET /api/v1/styles': () => json(200, { styles: [] }) });
  const http = createWxHttp(server.handler);
  const api = createApi({ wx: http.wx, baseUrl: BASE, anonymous: true });
  await api.styles();
  server.valid.clear();
  await api.styles();
  expect(http.loginCount).toBe(0); // never wx.login
  expect(http.calls.filter((c) => c.url.endsWith('/auth/anonymous')).length).toBe(2);
  expect(http.calls[http.calls.length - 1].header.Authorization).toBe('Bearer anon-1');
});

test('renews an expired token on 401 and retries, without the caller noticing', async () => {
  const server = backend({ 'GET /api/v1/styles': () => json(200, { styles: [] }) });
  const http = createWxHttp(server.handler);
  const api = createApi({ wx: http.wx, baseUrl: BASE });
  await api.styles();
  server.valid.clear(); // the token expired on the server
  await expect(api.styles()).resolves.toEqual([]);
  expect(http.loginCount).toBe(2);
  expect(http.calls[http.calls.length - 1].header.Authorization).toBe('Bearer t-code-2');
});

test('concurrent 401s share one renewal', async () => {
  const server = backend({ 'GET /api/v1/styles': () => json(200, { styles: [] }) });
  const http = createWxHttp(server.handler);
  const api = createApi({ wx: http.wx, baseUrl: BASE });
  await api.styles();
  server.valid.clear();
  await Promise.all([api.styles(), api.styles(), api.styles()]);
  expect(http.loginCount).toBe(2);
});

test('a stored token from an earlier launch is reused', async () => {
  const server = backend({ 'GET /api/v1/styles': () => json(200, { styles: [] }) });
  server.valid.add('t-old');
  const http = createWxHttp(server.handler);
  http.wx.setStorageSync('cartoon_token', 't-old');
  await createApi({ wx: http.wx, baseUrl: BASE }).styles();
  expect(http.loginCount).toBe(0);
});

test('a refused login is reported as a login error, not retried forever', async () => {
  const http = createWxHttp(() => error(401, 'invalid_code'));
  const api = createApi({ wx: http.wx, baseUrl: BASE });
  await expect(api.styles()).rejects.toMatchObject({ code: 'unauthorized', retryable: true });
  expect(http.loginCount).toBe(1);
});

test('dev login uses the development endpoint instead of wx.login', async () => {
  const http = createWxHttp((req) => (req.url.endsWith('/auth/dev-login')
    ? json(200, { token: 'dev' }) : json(200, { styles: [] })));
  await createApi({ wx: http.wx, baseUrl: BASE, devOpenid: 'dev-user' }).styles();
  expect(http.calls[0].data).toEqual({ openid: 'dev-user' });
  expect(http.loginCount).toBe(0);
});

describe('errors become messages a person understands', () => {
  const cases = [
    ['no network', () => { throw { errMsg: 'request:fail' }; }, 'network', true],
    ['timeout', () => { throw { errMsg: 'request:fail timeout' }; }, 'timeout', true],
    ['server busy', () => error(503, 'unavailable', 'busy', { 'Retry-After': '7' }), 'server_busy', true],
    ['queue full', () => error(429, 'queue_full', 'full', { 'Retry-After': '3' }), 'server_busy', true],
    ['rate limited', () => error(429, 'rate_limited'), 'rate_limited', true],
    ['quota reached', () => error(403, 'quota_exceeded'), 'quota_exceeded', false],
    ['content rejected', () => error(409, 'content_rejected'), 'content_rejected', false],
    ['bad photo', () => error(415, 'unsupported_format'), 'bad_photo', false],
    ['photo too large', () => error(413, 'too_large'), 'photo_too_large', false],
    ['blocked user', () => error(403, 'blocked'), 'blocked', false],
  ];
  test.each(cases)('%s', async (_, answer, code, retryable) => {
    const server = backend({ 'POST /api/v1/results/r1/share': answer });
    const http = createWxHttp(server.handler);
    const api = createApi({ wx: http.wx, baseUrl: BASE, sleep: noSleep });
    const err = await api.share('r1').catch((e) => e);
    expect(err).toMatchObject({ code, retryable });
    expect(err.message).toMatch(/[\u4e00-\u9fa5]/); // a sentence in Chinese, not an errMsg
    if (code === 'server_busy') expect(err.retryAfter).toBeGreaterThan(0);
  });
});

test('safe requests are retried when the server is busy, honouring Retry-After', async () => {
  let n = 0;
  const server = backend({
    'GET /api/v1/styles': () => (++n < 3 ? error(503, 'busy', 'busy', { 'Retry-After': '2' }) : json(200, { styles: [] })),
  });
  const waits = [];
  const http = createWxHttp(server.handler);
  const api = createApi({ wx: http.wx, baseUrl: BASE, sleep: async (ms) => { waits.push(ms); } });
  await expect(api.styles()).resolves.toEqual([]);
  expect(waits).toEqual([2000, 2000]);
});

test('a server job is uploaded, polled until done and downloaded', async () => {
  const statuses = ['queued', 'running', 'done'];
  const server = backend({
    'POST /api/v1/jobs': (req) => json(202, { id: 'j1', status: 'queued', echo: req.formData }),
    'GET /api/v1/jobs/j1': () => {
      const status = statuses.shift();
      return json(200, { id: 'j1', status, result: status === 'done' ? { id: 'r1', url: '/api/v1/results/r1/image' } : undefined });
    },
    'GET /api/v1/results/r1/image': () => ({ statusCode: 200, tempFilePath: 'wxfile://tmp/r1.png' }),
  });
  const http = createWxHttp(server.handler);
  const api = createApi({ wx: http.wx, baseUrl: BASE, sleep: noSleep });
  const job = await api.createJob('wxfile://tmp/photo.jpg', 'hayao', 512);
  expect(job.echo).toEqual({ style: 'hayao', long_side: '512' });
  const seen = [];
  const done = await api.waitForJob(job.id, { onStatus: (s) => seen.push(s), interval: 0 });
  expect(seen).toEqual(['queued', 'running', 'done']);
  expect(await api.downloadResult(done.result.url)).toBe('wxfile://tmp/r1.png');
  const upload = http.calls.find((c) => c.kind === 'upload');
  expect(upload.filePath).toBe('wxfile://tmp/photo.jpg');
  expect(http.calls.find((c) => c.kind === 'download').header.Authorization).toMatch(/^Bearer /);
});

test('a failed job says why', async () => {
  const server = backend({
    'GET /api/v1/jobs/j2': () => json(200, { id: 'j2', status: 'failed', error: { code: 'inference_failed', message: 'x' } }),
  });
  const api = createApi({ wx: createWxHttp(server.handler).wx, baseUrl: BASE, sleep: noSleep });
  await expect(api.waitForJob('j2')).rejects.toMatchObject({ code: 'job_failed', retryable: true });
});
