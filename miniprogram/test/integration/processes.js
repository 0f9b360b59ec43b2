// Starting the Python side from jest: the repository's venv Python, localhost
// only, a free port, bounded waits and a clean shutdown.

const { execFile, spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');

const REPO = path.resolve(__dirname, '../../..');
const PYTHON = process.env.CARTOON_PYTHON || path.join(REPO, '.venv/bin/python');
const PHOTOS = path.join(process.env.CARTOON_SHARED_DIR || path.join(REPO, '../shared'), 'photos');

const pyEnv = (extra = {}) => Object.assign({}, process.env, {
  PYTHONPATH: REPO, TF_CPP_MIN_LOG_LEVEL: '3', PYTHONUNBUFFERED: '1',
}, extra);

// What the integration tests need from the others' work; null when all is there.
function missingPrerequisites() {
  const needed = [
    [PYTHON, 'the Python virtual environment (make install)'],
    [path.join(REPO, 'modelzoo/__main__.py'), 'the modelzoo CLI (python -m modelzoo)'],
    [path.join(REPO, 'modelzoo/testing.py'), 'modelzoo.testing (tiny generator)'],
    [path.join(REPO, 'backend/__init__.py'), 'the backend (backend:create_app)'],
    [path.join(REPO, 'tests/backend/fakewechat.py'), 'the fake WeChat server of the backend tests'],
    [PHOTOS, 'the sample photos (../shared/photos)'],
  ];
  const missing = needed.filter(([p]) => !fs.existsSync(p)).map(([p, what]) => `${what}: ${p}`);
  return missing.length ? missing.join('; ') : null;
}

function python(args, { timeout = 300000, env } = {}) {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, args, { cwd: REPO, env: pyEnv(env), timeout, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`python ${args.join(' ')} failed (${err.code || err.signal}):\n${stderr.slice(-4000)}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// A long-running Python process; its output is kept for error messages.
function startPython(args, env) {
  const child = spawn(PYTHON, args, { cwd: REPO, env: pyEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  child.output = '';
  child.stdout.on('data', (d) => { child.output += d; });
  child.stderr.on('data', (d) => { child.output += d; });
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return child;
}

async function firstLine(child, timeoutMs = 30000) {
  const started = Date.now();
  while (!child.output.includes('\n')) {
    if (child.exitCode !== null || Date.now() - started > timeoutMs) {
      throw new Error(`process did not start:\n${child.output.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return child.output.split('\n')[0].trim();
}

async function waitForHttp(url, child, timeoutMs = 90000) {
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${child.output.slice(-4000)}`);
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch (e) { /* not listening yet */ }
    if (Date.now() - started > timeoutMs) throw new Error(`${url} not ready after ${timeoutMs} ms:\n${child.output.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function stop(child, timeoutMs = 10000) {
  if (!child || child.exitCode !== null || child.signalCode) return;
  child.stdin.end();
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await child.exited;
  clearTimeout(timer);
}

module.exports = { REPO, PYTHON, PHOTOS, missingPrerequisites, python, freePort, startPython, firstLine, waitForHttp, stop };
