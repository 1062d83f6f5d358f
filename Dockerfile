# syntax=docker/dockerfile:1
# Build stage: install the pinned dependencies and the service into a virtualenv.
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
# Dependencies only: the service itself runs from /srv beside its migrations.
RUN pip install -c constraints.txt . && pip uninstall -y police-social-registry

# Runtime stage: no compilers, no build files, a non-root user.
FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /srv registry
WORKDIR /srv
COPY --from=build /opt/venv /opt/venv
COPY alembic.ini ./
COPY migrations ./migrations
COPY app ./app
# The `registry` command of the README, running the code in /srv beside its migrations.
RUN printf '#!/bin/sh\nexec python -m app.cli "$@"\n' > /opt/venv/bin/registry \
    && chmod 0755 /opt/venv/bin/registry
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/srv PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    REGISTRY_LOG_FORMAT=json REGISTRY_WORKERS=1
USER registry
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
# Migrations first (several containers starting at once take turns under a lock), then
# REGISTRY_WORKERS server processes. REGISTRY_DATABASE_URL and REGISTRY_JWT_SECRET are
# required: without a database URL the container stops instead of making a SQLite file.
CMD ["sh", "-c", "test -n \"$REGISTRY_DATABASE_URL\" || { echo 'Refusing to start: set REGISTRY_DATABASE_URL' >&2; exit 2; }; registry db upgrade && exec registry serve --host 0.0.0.0 --port 8000"]
