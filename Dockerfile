# syntax=docker/dockerfile:1
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies in their own layer: only pyproject.toml invalidates it.
COPY pyproject.toml README.md ./
RUN mkdir portal && touch portal/__init__.py \
    && pip install . \
    && pip uninstall -y portal && rm -rf portal build

COPY portal ./portal
COPY templates ./templates
COPY static ./static
RUN pip install --no-deps -e . \
    && useradd --system --uid 10001 --home-dir /app portal \
    && mkdir -p /app/var && chown portal /app/var

USER portal
ENV PORTAL_MODE=production PORTAL_HOST=0.0.0.0 PORTAL_PORT=8000
EXPOSE 8000
CMD ["portal", "serve"]
