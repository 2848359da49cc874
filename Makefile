# One entry point for people and CI alike. Only `python3 -m venv` and pip are assumed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo-out

CHROMIUM ?= /usr/bin/chromium
# Debian's CJK faces the fixtures' browser printing typesets in (fixtures.browser).
FONT_FILES := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc \
	/usr/share/fonts/truetype/wqy/wqy-microhei.ttc \
	/usr/share/fonts/truetype/arphic/uming.ttc \
	/usr/share/fonts/truetype/arphic/ukai.ttc
FONT_PACKAGES := fonts-wqy-zenhei fonts-wqy-microhei fonts-arphic-uming fonts-arphic-ukai

.PHONY: demo test lint venv bench clean chromium fonts

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	@# scan exits 1 when some sample needs review or is rejected: that is the demo's point.
	$(BIN)/docpipe scan fixtures/samples --out $(DEMO_OUT) || [ $$? -eq 1 ]
	@echo "HTML index: $(abspath $(DEMO_OUT))/index.html"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy docpipe extractors validators fixtures

# The report's browser tests drive Debian's chromium (never a downloaded browser build).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi

# The fixtures' browser printing (--layouts browser) sets its documents in Debian's fonts.
fonts:
	@for f in $(FONT_FILES); do [ -f $$f ] || missing=1; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian's CJK fonts for the browser printing of the fixtures"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(FONT_PACKAGES); \
	fi

test: $(STAMP) lint chromium fonts
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .mypy_cache .ruff_cache
