'use strict';
/**
 * A static file server on 127.0.0.1 (random free port) for the WebGL profiling page: the page
 * itself, the TF.js bundle from node_modules, and one model folder under /model/.
 */
const fs = require('fs');
const http = require('http');
const path = require('path');

const TYPES = {'.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.bin': 'application/octet-stream'};

function serve(routes, modelDir) {
  const server = http.createServer((request, response) => {
    const url = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname);
    let file = routes[url];
    if (!file && url.startsWith('/model/')) {
      const candidate = path.resolve(modelDir, url.slice('/model/'.length));
      if (candidate.startsWith(path.resolve(modelDir) + path.sep)) file = candidate;
    }
    if (!file || !fs.existsSync(file)) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, {'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream'});
    fs.createReadStream(file).pipe(response);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

module.exports = {serve};
