// `npm test` runs every test: unit tests (jsdom, as mini-program code runs in a
// DOM-less JS engine but miniprogram-simulate needs a DOM) and the Node tests
// that run TF.js, the model zoo and the backend (they set
// `@jest-environment node` themselves).
module.exports = {
  testEnvironment: 'jsdom',
  testMatch: ['<rootDir>/test/**/*.test.js'],
  testTimeout: 30000,
  // TF.js, the Python processes: one test file at a time keeps the 2-core CI machine responsive.
  maxWorkers: 2,
};
