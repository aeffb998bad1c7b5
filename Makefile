# Every target sets itself up from a fresh clone: virtual environment, package, data.
VENV   := .venv
PY     := $(VENV)/bin/python
# The versions this project is tested with (pip serves them from a local mirror on the build machines).
TORCH  := torch==2.14.1 torchvision==0.29.1
DEMO_OUT ?= runs/demo

.PHONY: install data test demo bench lint clean

install: $(VENV)/.installed

# A venv whose python cannot run pip (python3 -m venv failed half-way, before python3-venv was
# installed; or its interpreter is gone) is made again rather than reused for ever.
$(VENV)/.installed: pyproject.toml
	$(PY) -m pip --version >/dev/null 2>&1 || python3 -m venv --clear $(VENV)
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[dev,tensorboard]'
	touch $@

# Fashion-MNIST: Debian's package when we are root with apt-get, else d2lkit's own download.
data: install
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ ! -d /usr/share/datasets/fashion-mnist ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist; \
	fi
	$(VENV)/bin/d2lkit data info || $(VENV)/bin/d2lkit data download

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

test: data lint
	$(VENV)/bin/pytest -q

# Train the book's LeNet on the CPU (about a minute on 2 cores), then show what it predicts.
demo: data
	$(VENV)/bin/d2lkit data info
	rm -rf $(DEMO_OUT)
	$(VENV)/bin/d2lkit data show --out $(DEMO_OUT)-samples.png
	$(VENV)/bin/d2lkit train lenet --epochs 5 --out $(DEMO_OUT)
	$(VENV)/bin/d2lkit predict $(DEMO_OUT) --out $(DEMO_OUT)/predictions.png
	@echo "demo done: see $(DEMO_OUT)/ (curves.png, predictions.png, metrics.jsonl, checkpoint.pt)"

bench: data
	$(VENV)/bin/d2lkit bench --quick --out runs/bench

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache src/*.egg-info
