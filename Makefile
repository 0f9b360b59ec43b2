# Two commands do all the set-up on a fresh machine (Python 3.11, Node 20, make):
#   make run    - install, package the styles into $(ZOO), start the backend as soon as the first
#                 ones are packaged, then package and measure the others while it serves
#   make test   - install, then run the whole test suite (Python, model zoo Node scripts, mini-program,
#                 the web app in Chromium)
#   make test-fast - the same without the slow tests (pytest -m "not slow", no JS integration test):
#                 the edit-test loop, a few minutes
# Also: `make demo` (stylize sample photos with the four published styles), `make lint` (ruff's checks and format, ESLint),
# `make zoo` (package and measure every style, no server), `make profile` (measure what is not yet).
# `make install` alone installs; each step is repeated only when its lock file changes.
# ZOO (a path, relative to this folder or absolute) and STYLES (comma-separated ids) choose what
# `make run` packages.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ZOO ?= modelzoo-build
STYLES ?=

.PHONY: install chromium nginx redis postgresql run demo zoo profile test test-fast lint

$(VENV)/.installed: requirements.txt $(wildcard requirements/*.txt)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

modelzoo/node/node_modules/.installed: modelzoo/node/package-lock.json
	npm ci --prefix modelzoo/node --no-audit --no-fund
	touch $@

# ESLint for all the JavaScript (eslint.config.js), from the package.json at the top.
node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# s3rver, the S3-compatible server the backend tests start to test results in object storage.
tests/s3server/node_modules/.installed: tests/s3server/package-lock.json
	npm ci --prefix tests/s3server --no-audit --no-fund
	touch $@

miniprogram/node_modules/.installed: miniprogram/package-lock.json
	npm ci --prefix miniprogram --no-audit --no-fund
	touch $@

# The mini-program's tfjs subpackage has its own npm dependencies (TF.js pinned for the plugin).
miniprogram/tfjs/node_modules/.installed: miniprogram/tfjs/package-lock.json
	npm ci --prefix miniprogram/tfjs --no-audit --no-fund
	touch $@

# The web app (web/): its npm packages, then its build into web/dist/, which the backend serves at /.
# The build bundles the mini-program's client core (miniprogram/core), hence that install first.
web/node_modules/.installed: web/package-lock.json
	npm ci --prefix web --no-audit --no-fund
	touch $@

web/dist/index.html: web/node_modules/.installed miniprogram/node_modules/.installed web/build.js \
		$(wildcard web/src/*) $(wildcard miniprogram/core/*.js)
	npm run build --prefix web

# Debian's Chromium measures the models' WebGL memory (modelzoo). Installed when missing and we
# may (root); a build without it still works and says that the WebGL figures are missing.
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "note: no Chromium (apt-get install chromium); WebGL figures will be missing"

# nginx, the buffering proxy of deploy/nginx.conf, runs in front of gunicorn in the tests.
nginx:
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; } || \
		echo "note: no nginx (apt-get install nginx-light); the test of deploy/nginx.conf will fail"

# redis-server: the tests start their own on a free loopback port (broker of the Celery workers,
# shared rate limits); see docs/deploy.md.
redis:
	@command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; } || \
		echo "note: no redis-server (apt-get install redis-server); the Celery and Redis tests will fail"

# PostgreSQL's binaries: tests start a server of their own (the database dropped during a job).
postgresql:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } || \
		echo "note: no PostgreSQL (apt-get install postgresql); the PostgreSQL tests will fail"

install: $(VENV)/.installed node_modules/.installed modelzoo/node/node_modules/.installed \
	tests/s3server/node_modules/.installed miniprogram/node_modules/.installed miniprogram/tfjs/node_modules/.installed web/dist/index.html \
	chromium nginx redis postgresql

zoo: install
	$(PY) -m modelzoo build-all --output $(ZOO)

profile: install
	$(PY) -m modelzoo profile $(ZOO)

run: install
	$(PY) -m backend.launch --zoo $(ZOO) $(if $(STYLES),--styles $(STYLES))

demo: install
	$(PY) -m training demo

# pytest runs last so that its summary closes the output, in PYTEST_WORKERS processes
# (pytest-xdist; 0: in this one) that take the test files in turn, so a file's module fixtures are
# built once (the session ones, such as the servers, once per process).
PYTEST_WORKERS ?= 2
test: install
	npm test --prefix modelzoo/node
	npm test --prefix miniprogram
	npm test --prefix web
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile

# Leaves out the tests marked `slow` (full-size generators, conversions, training, builds in Node
# and Chromium) and the mini-program's integration test (a model zoo build and a live backend).
test-fast: install
	npm test --prefix modelzoo/node
	npm test --prefix miniprogram -- --testPathIgnorePatterns test/integration/
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile -m "not slow"

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	npm run --silent lint
