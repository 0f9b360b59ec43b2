/**
 * @jest-environment node
 */
// app.js wiring: services created on launch, TF.js left unloaded until the first
// photo, and wx.onMemoryWarning connected to the session.
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
  expect(Object.keys(services).sort()).toEqual(['api', 'cache', 'session']);
  expect(global.requirePlugin).not.toHaveBeenCalled(); // TF.js loads with the first photo

  expect(services.session.memoryWarned).toBe(false);
  memoryListener({ level: 10 });
  expect(services.session.memoryWarned).toBe(true);
  delete global.App;
  delete global.requirePlugin;
  delete global.wx;
});
