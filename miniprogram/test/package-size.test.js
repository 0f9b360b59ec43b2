/**
 * @jest-environment node
 */
// The package as WeChat builds it: "build npm" with the official miniprogram-ci (packNpmManually,
// the project.config.json packNpmRelationList that DevTools follows; offline), then the main
// package and the tfjs subpackage counted as they are uploaded (packOptions.ignore applied,
// source maps left out). WeChat's limit is 2 MB for the main package and for each subpackage.
// Prints the sizes; the README quotes them.
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const LIMIT = 2 * 1024 * 1024;
const project = JSON.parse(fs.readFileSync(path.join(ROOT, 'project.config.json'), 'utf8'));
const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'));

jest.setTimeout(5 * 60 * 1000);

function ignored(rel) {
  if (rel.split('/').includes('node_modules') || rel.endsWith('.map')) return true;
  return project.packOptions.ignore.some(({ type, value }) => (
    (type === 'folder' && (rel === value || rel.startsWith(`${value}/`)))
    || (type === 'file' && rel === value)
    || (type === 'suffix' && rel.endsWith(value))));
}

function files(dir, base = dir, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const rel = path.relative(base, full).split(path.sep).join('/');
    if (ignored(rel)) continue;
    if (entry.isDirectory()) files(full, base, out);
    else out.push({ rel, bytes: fs.statSync(full).size });
  }
  return out;
}

let built;
let sizes;

beforeAll(async () => {
  const ci = require('miniprogram-ci');
  // The project's own files (no node_modules, no miniprogram_npm from an earlier build) ...
  built = fs.mkdtempSync(path.join(os.tmpdir(), 'cartoon-package-'));
  for (const { rel } of files(ROOT)) {
    if (rel.split('/').includes('miniprogram_npm')) continue;
    fs.mkdirSync(path.dirname(path.join(built, rel)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, rel), path.join(built, rel));
  }
  // ... and "build npm" for each packNpmRelationList entry, from the node_modules beside it.
  for (const relation of project.setting.packNpmRelationList) {
    const packageJson = path.join(ROOT, relation.packageJsonPath);
    const modules = path.join(path.dirname(packageJson), 'node_modules');
    if (!fs.existsSync(modules)) throw new Error(`${modules} is missing: npm ci --prefix ${path.dirname(packageJson)}`);
    const result = await ci.packNpmManually({
      packageJsonPath: packageJson,
      miniprogramNpmDistDir: path.join(built, relation.miniprogramNpmDistDir),
    });
    expect(result.otherNpmPackNum + result.miniProgramPackNum).toBeGreaterThan(0);
  }
  const roots = app.subpackages.map((s) => s.root.replace(/\/$/, ''));
  sizes = { main: 0 };
  roots.forEach((r) => { sizes[r] = 0; });
  for (const { rel, bytes } of files(built)) {
    const root = roots.find((r) => rel.startsWith(`${r}/`));
    sizes[root || 'main'] += bytes;
  }
  console.log(`package sizes without source maps: ${JSON.stringify(sizes)}`);
});

afterAll(() => {
  if (built) fs.rmSync(built, { recursive: true, force: true });
});

test('the main package, as WeChat builds it, is under 2 MB', () => {
  expect(sizes.main).toBeGreaterThan(0);
  expect(sizes.main).toBeLessThan(LIMIT);
  // TF.js is not in it: it lives in the tfjs subpackage.
  expect(fs.existsSync(path.join(built, 'miniprogram_npm/@tensorflow'))).toBe(false);
  expect(fs.existsSync(path.join(built, 'miniprogram_npm/pako'))).toBe(true);
});

test('the tfjs subpackage holds TF.js and is under 2 MB', () => {
  expect(fs.existsSync(path.join(built, 'tfjs/miniprogram_npm/@tensorflow/tfjs-core'))).toBe(true);
  expect(sizes.tfjs).toBeLessThan(LIMIT);
});
