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
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/srv PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    REGISTRY_LOG_FORMAT=json
USER registry
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
# Migrations first, then the server (REGISTRY_DATABASE_URL and REGISTRY_JWT_SECRET required).
CMD ["sh", "-c", "python -m app.cli db upgrade && exec python -m app.cli serve --host 0.0.0.0 --port 8000"]
