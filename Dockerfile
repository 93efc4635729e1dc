# qconnect-local in a container: `serve` by default, `worker` too (see compose.yaml).
#   docker build -t qconnect-local .
#   docker run --rm -p 4567:4567 qconnect-local
# Configuration is by QCONNECT_LOCAL_* variables or flags after the image name
# (`docker run qconnect-local serve --enforce-sigv4 ...`); see the README and docs/deploy.md.
# No container engine runs where this file is developed: tests/test_container_files.py checks
# what can be checked without one (paths, commands, flags, variables, the health path).

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: the package and its runtime dependencies (no test tools) in a venv ---------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/qconnect-local \
 && /opt/qconnect-local/bin/pip install --upgrade pip \
 && /opt/qconnect-local/bin/pip install .

# --- run: the venv alone, as a user without privileges ----------------------------------------------
FROM ${PYTHON_IMAGE}
COPY --from=build /opt/qconnect-local /opt/qconnect-local
# /data: where `-e QCONNECT_LOCAL_DATA_DIR=/data` with a volume there keeps the state.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/qconnect qconnect \
 && mkdir /data \
 && chown qconnect:qconnect /data
USER 10001:10001
WORKDIR /home/qconnect
# Listen on every interface of the container, or a published port cannot reach the server (it
# warns that SigV4 is not enforced: see "the safe setup" in docs/deploy.md).
ENV PATH=/opt/qconnect-local/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    QCONNECT_LOCAL_HOST=0.0.0.0 \
    QCONNECT_LOCAL_PORT=4567
EXPOSE 4567
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('QCONNECT_LOCAL_PORT', '4567') + '/_qconnect/health', timeout=2)"]
# Exec form: qconnect-local is PID 1 and gets `docker stop`'s SIGTERM itself; it finishes the
# requests in flight, stops its worker and exits 0. (`docker run --init` adds a reaper as PID 1.)
STOPSIGNAL SIGTERM
ENTRYPOINT ["qconnect-local"]
CMD ["serve"]
