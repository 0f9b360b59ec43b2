/**
 * @jest-environment node
 */
// app.js wiring: services created on launch, TF.js (a subpackage) left unloaded, and
// wx.onMemoryWarning's level passed to the session.
const path = require('path');
const { createMemFs } = require('./support/memfs');

test('onLaunch creates the services and listens for memory warnings', () => {
  let definition;
  let memoryListener;
  global.App = (def) => { definition = def; };
  global.requirePlugin = jest.fn();
  global.wx = {
    env: { USER_DATA_PATH: 'wxfile://usr' },
    getFileSystemManager: () => createMemFs(),
    getStorageSync: () => '',
    onMemoryWarning: (listener) => { memoryListener = listener; },
  };
  jest.isolateModules(() => require(path.join(__dirname, '../app.js')));
  definition.onLaunch();
  const { services } = definition;
  expect(Object.keys(services).sort()).toEqual(['api', 'cache', 'phoneVariant', 'session']);
  expect(services.phoneVariant).toBe('uint8'); // no wx.createInferenceSession here: the TF.js fallback
  expect(global.requirePlugin).not.toHaveBeenCalled(); // TF.js loads with the first photo

  memoryListener({ level: 10 });
  expect(services.session.memory.stopped).toBe(false);
  memoryListener({ level: 15 });
  expect(services.session.memory.stopped).toBe(true);
  delete global.App;
  delete global.requirePlugin;
  delete global.wx;
});
