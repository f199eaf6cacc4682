# syntax=docker/dockerfile:1
# Two images from one file: `product` (the default, last stage) holds the portal alone;
# `sandbox` adds the sandbox Shopify, Corso and mail server, for compose.yaml's local trial.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies in their own layer: only pyproject.toml invalidates it.
COPY pyproject.toml README.md ./
RUN mkdir portal && touch portal/__init__.py \
    && pip install . \
    && pip uninstall -y portal && rm -rf portal build \
    && useradd --system --uid 10001 --home-dir /app portal

COPY portal ./portal
COPY templates ./templates
COPY static ./static
# The shopper's languages: the .po catalogues compiled to the .mo files the portal reads.
RUN pybabel compile --statistics -d portal/locale -D messages

FROM base AS sandbox
COPY sandbox ./sandbox
RUN pip install -e '.[demo]' \
    && mkdir -p /app/var /shared && chown portal /app/var /shared
USER portal
EXPOSE 8700 8025
CMD ["portal", "sandbox", "--host", "0.0.0.0", "--write-env", "/shared/sandbox.env"]

FROM base AS product
RUN pip install --no-deps -e . \
    && mkdir -p /app/var/uploads && chown -R portal /app/var
USER portal
ENV PORTAL_MODE=production PORTAL_HOST=0.0.0.0 PORTAL_PORT=8000
EXPOSE 8000
CMD ["portal", "serve"]
