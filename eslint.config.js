// ESLint for every JavaScript file of the repository (`make lint`, next to ruff for Python):
// the recommended rules, and the globals of where each file runs.
const js = require('@eslint/js');
const globals = require('globals');

// What WeChat's mini-program runtime provides besides the ES built-ins and CommonJS modules.
const wechat = {
  console: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
  setInterval: 'readonly',
  clearInterval: 'readonly',
  wx: 'readonly',
  App: 'readonly',
  Page: 'readonly',
  Component: 'readonly',
  Behavior: 'readonly',
  getApp: 'readonly',
  getCurrentPages: 'readonly',
  requirePlugin: 'readonly',
  requireMiniProgram: 'readonly',
};

module.exports = [
  {
    ignores: [
      '**/node_modules/',
      '**/miniprogram_npm/',
      '.venv/',
      'modelzoo-build/',
      'runs/',
      'output/',
      'models/',
      'instance/',
      'web/dist/',
    ],
  },
  js.configs.recommended,
  {
    rules: {
      // Unused arguments document a signature (callbacks, handlers) and `catch (e)` is the
      // mini-program's ES2018 form; unused variables are errors.
      'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
    },
  },
  {
    // CommonJS modules run by Node (scripts, tests, tools).
    files: ['**/*.js'],
    ignores: ['miniprogram/**', 'web/src/**'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'commonjs',
      globals: { ...globals.node },
    },
  },
  {
    // The mini-program: WeChat's runtime, not Node (its tests run in jest, below).
    files: ['miniprogram/**/*.js'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'commonjs',
      globals: { ...globals.es2021, ...globals.commonjs, ...wechat },
    },
  },
  {
    // jest, in jsdom by default (miniprogram/jest.config.js) or Node, with wx stand-ins.
    files: ['miniprogram/test/**/*.js', 'miniprogram/jest.config.js'],
    languageOptions: { globals: { ...globals.node, ...globals.browser, ...globals.jest } },
  },
  {
    // Its page.evaluate callbacks run in the model zoo's WebGL page (webgl_page.html defines measure).
    files: ['modelzoo/node/profile_webgl.js'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly', measure: 'readonly' } },
  },
  {
    // The web app's page, bundled from CommonJS modules by web/build.js (issue 12).
    files: ['web/src/**/*.js'],
    ignores: ['web/src/worker.js', 'web/src/sw.js'],
    languageOptions: { globals: { ...globals.browser, ...globals.commonjs } },
  },
  {
    files: ['web/src/worker.js', '**/*.worker.js'],
    languageOptions: { globals: { ...globals.worker, ...globals.commonjs } },
  },
  {
    // Node scripts whose page.evaluate callbacks run in Chromium (the web app's tests and bench).
    files: ['web/test/**/*.js', 'web/bench/**/*.js'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  {
    files: ['web/src/sw.js'],
    languageOptions: { globals: { ...globals.serviceworker } },
  },
];
