# Wartezone: two images from one file, one per role, on one shared base.
#   --target edge  the edge box: cameras in, /metrics out (OpenVINO, onnxruntime, OpenCV; no FastAPI)
#   --target api   the staffing-alert API and reception page (FastAPI; no OpenVINO, OpenCV, numpy)
# A site runs both, often on one machine: the base layers below are stored once for the two.
#
# Build with scripts/build_image.sh: no image can be pulled here, so it makes the base below
# locally with debootstrap (Debian bookworm, minbase) and tags it as this FROM.
# Run:  podman run -v ./site.yaml:/etc/wartezone/wartezone.yaml:ro -p 127.0.0.1:9464:9464 localhost/wartezone-edge
# The site.yaml must say `metrics: {host: 0.0.0.0}` (api.yaml: `host: 0.0.0.0`): inside the
# container only, since the container is the boundary and the host decides where a port is published.

# ---- runtime-base: what every stage and both images share: Python, the user, nothing to compile with
FROM localhost/wartezone-base:bookworm AS runtime-base
# Versions come from the Debian suite the base was made from; pinning exact Debian versions would
# break the build at every point release without making it more reproducible than the suite is.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 ca-certificates \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/wartezone --shell /usr/sbin/nologin wartezone \
    && install -d -o wartezone -g wartezone -m 0750 /var/lib/wartezone /etc/wartezone
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH

# ---- build-base: an empty virtual environment and the files every install reads
FROM runtime-base AS build-base
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
# A network that inspects TLS with its own CA is trusted for the steps that download, through the
# build secret ca-bundle (scripts/build_image.sh passes the host's bundle): it is in no layer.
# --only-binary: every dependency comes as a wheel, so no compiler is ever needed.
RUN --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
    && python3 -m venv /opt/venv \
    && pip install --no-cache-dir --only-binary=:all: --upgrade pip==25.3
WORKDIR /opt/wartezone
COPY pyproject.toml README.md LICENSE wartezone_contract.py ./
# Every install of the distribution ships the default model as data files (pyproject.toml's
# [tool.setuptools.data-files], share/wartezone/models under the environment), the API's included.
COPY models/yolo11n-pose.onnx models/yolo11n-pose.onnx.manifest.json \
    models/yolo11n-pose-int8.onnx models/yolo11n-pose-int8.onnx.manifest.json ./models/

# ---- build-api: wartezone[api] alone, as a plain (non-editable) install; the edge's code is not here
FROM build-base AS build-api
COPY api ./api
# The `wartezone` script is the edge's command line (edge.cli), which is not in this image: it goes,
# and deploy/container/api_entrypoint.py takes its place with the same arguments. python -P: the
# import check reads the installed package, not the source beside it.
RUN --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
    && pip install --no-cache-dir --only-binary=:all: "/opt/wartezone[api]" \
    && rm /opt/venv/bin/wartezone \
    && pip check \
    && python -P -c "import api.app, api.cli, api.settings, wartezone_contract" \
    && python -c "import importlib.util as u, sys; \
found = [m for m in ('cv2', 'numpy', 'openvino', 'onnxruntime', 'torch') if u.find_spec(m)]; \
sys.exit(f'the API image holds the edge stack: {found}' if found else 0)"

# ---- api: the staffing-alert API
FROM runtime-base AS api
# pyproject.toml's version; tests/docs/test_docs.py holds both images' labels to it.
LABEL org.opencontainers.image.version="0.1.0"
COPY --from=build-api /opt/venv /opt/venv
COPY deploy/container/api_entrypoint.py deploy/container/api_healthcheck.py /opt/wartezone/
WORKDIR /var/lib/wartezone
# Numeric, so that a runtime can tell it is not root without reading /etc/passwd.
USER 10001:10001
# The settings are a mounted file and WARTEZONE_API__* variables (the tokens), never baked in.
ENV WARTEZONE_API_CONFIG=/etc/wartezone/api.yaml
EXPOSE 8088
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "/opt/wartezone/api_healthcheck.py"]
ENTRYPOINT ["python", "/opt/wartezone/api_entrypoint.py"]
CMD ["api", "-c", "/etc/wartezone/api.yaml"]

# ---- build-edge: wartezone[edge] alone, as a plain install; the API's code is not here
FROM build-base AS build-edge
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY edge ./edge
# The default model lands in /opt/venv/share/wartezone/models, where edge.config.default_model
# finds it outside a checkout.
# opencv-python is swapped for the same release of opencv-python-headless (the same cv2 without
# its GUI): the GUI build needs libGL and GLib, which drag Mesa and LLVM (~150 MB) into a headless
# box; no library of the headless install links GLib, so the image has none.
RUN --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
    && pip install --no-cache-dir --only-binary=:all: "/opt/wartezone[edge]" \
    && opencv="$(pip show opencv-python | sed -n 's/^Version: //p')" \
    && pip uninstall -y opencv-python \
    && pip install --no-cache-dir --only-binary=:all: "opencv-python-headless==${opencv}" \
    && python -P -c "import cv2, onnxruntime, openvino, edge.detect.openvino, edge.cli, wartezone_contract" \
    && python -c "import importlib.util as u, sys; \
found = [m for m in ('fastapi', 'starlette', 'uvicorn', 'httpx', 'api', 'torch') if u.find_spec(m)]; \
sys.exit(f'the edge image holds the API stack: {found}' if found else 0)"

# ---- model: the installed default model checked against its manifest (sha256), refused here if
# they disagree; the image takes its environment from this stage.
FROM build-edge AS model
RUN python -P -c "import sys; from edge.config import default_model; from edge.detect.model import verify_model; \
path = default_model(); verify_model(path); \
sys.exit(0 if path.is_relative_to('/opt/venv/share/wartezone/models') else f'default model {path}')"

# ---- edge: the image that runs on the box (the last stage: what a build without --target makes)
FROM runtime-base AS edge
LABEL org.opencontainers.image.version="0.1.0"
COPY --from=model /opt/venv /opt/venv
COPY deploy/container/healthcheck.py /opt/wartezone/healthcheck.py
WORKDIR /var/lib/wartezone
USER 10001:10001
# The config is a mounted file, never baked in: one image for every site.
ENV WARTEZONE_CONFIG=/etc/wartezone/wartezone.yaml
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "/opt/wartezone/healthcheck.py"]
ENTRYPOINT ["wartezone"]
CMD ["edge", "run", "-c", "/etc/wartezone/wartezone.yaml"]
