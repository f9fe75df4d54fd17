# Wartezone edge box (and, with another command, the staffing-alert API).
#
# Build with scripts/build_image.sh: no image can be pulled here, so it makes the base below
# locally with debootstrap (Debian bookworm, minbase) and tags it as this FROM.
# Run:  podman run -v ./site.yaml:/etc/wartezone/wartezone.yaml:ro -p 127.0.0.1:9464:9464 wartezone
# The site.yaml must say `metrics: {host: 0.0.0.0}`: inside the container only, since the
# container is the boundary and the host decides where the port is published.

# ---- runtime-base: what every stage and the final image share: Python and nothing to compile with
FROM localhost/wartezone-base:bookworm AS runtime-base
# Versions come from the Debian suite the base was made from; pinning exact Debian versions would
# break the build at every point release without making it more reproducible than the suite is.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 ca-certificates libglib2.0-0 \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH

# ---- build: the virtual environment with the package and its dependencies (wheels only)
FROM runtime-base AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/wartezone
COPY pyproject.toml README.md LICENSE ./
COPY edge ./edge
COPY api ./api
# Installed in place (compat editable mode: a plain .pth line), so the code's default model path,
# models/ beside edge/, is /opt/wartezone/models in the image as in a checkout.
# opencv-python is swapped for the same release of opencv-python-headless (the same cv2 without
# its GUI): the GUI build needs libGL, which drags Mesa and LLVM (~150 MB) into a headless box.
# --only-binary: every dependency comes as a wheel, so no compiler is ever needed.
# A network that inspects TLS with its own CA is trusted for this step only, through the build
# secret ca-bundle (scripts/build_image.sh passes the host's bundle): it is in no layer.
RUN --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
    && python3 -m venv /opt/venv \
    && pip install --no-cache-dir --only-binary=:all: --upgrade pip==25.3 \
    && pip install --no-cache-dir --config-settings editable_mode=compat -e . \
    && opencv="$(pip show opencv-python | sed -n 's/^Version: //p')" \
    && pip uninstall -y opencv-python \
    && pip install --no-cache-dir --only-binary=:all: "opencv-python-headless==${opencv}" \
    && python -c "import cv2, onnxruntime, edge.detect.openvino, edge.cli" \
    && ! pip show torch >/dev/null 2>&1

# ---- model: the committed ONNX model and its manifest, refused here if they disagree
FROM build AS model
COPY models/yolo11n-pose.onnx models/yolo11n-pose.onnx.manifest.json /opt/wartezone/models/
RUN python -c "from pathlib import Path; from edge.detect.model import verify_model; \
verify_model(Path('/opt/wartezone/models/yolo11n-pose.onnx'))"

# ---- runtime: the image that runs on the box
FROM runtime-base AS runtime
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/wartezone --shell /usr/sbin/nologin wartezone \
    && install -d -o wartezone -g wartezone -m 0750 /var/lib/wartezone /etc/wartezone
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/wartezone /opt/wartezone
COPY --from=model /opt/wartezone/models /opt/wartezone/models
COPY deploy/container/healthcheck.py /opt/wartezone/healthcheck.py
WORKDIR /var/lib/wartezone
# Numeric, so that a runtime can tell it is not root without reading /etc/passwd.
USER 10001:10001
# The config is a mounted file, never baked in: one image for every site.
ENV WARTEZONE_CONFIG=/etc/wartezone/wartezone.yaml
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "/opt/wartezone/healthcheck.py"]
ENTRYPOINT ["wartezone"]
CMD ["edge", "run", "-c", "/etc/wartezone/wartezone.yaml"]
