// The service worker: the app shell (page, scripts, styles, icons, TF.js's WASM) is cached at
// install and served from the cache, so the app opens offline and fast; a new build (another
// SHELL_VERSION, written by build.js) installs a new shell and deletes the old one. Model files
// are not handled here: the client core's model cache keeps them in Cache Storage, checked
// against the manifest's sha256, older versions evicted (miniprogram/core/model-cache.js).

const SHELL_VERSION = '__SHELL_VERSION__';
const SHELL_FILES = JSON.parse('__SHELL_FILES__');
const SHELL_CACHE = `cartoon-shell-${SHELL_VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL_FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('cartoon-shell-') && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || !SHELL_FILES.includes(url.pathname)) return;
  event.respondWith(caches.open(SHELL_CACHE).then(async (cache) => (
    await cache.match(url.pathname) || fetch(event.request)
  )));
});
