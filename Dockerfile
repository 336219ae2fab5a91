FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# LightGBM needs the OpenMP runtime.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, from the pins in pyproject.toml, so code changes reuse the layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt

COPY . .
# Static files are collected at build time with the production storage
# (hashed names); the keys are throwaways used by this step only.
RUN SECRET_KEY=collectstatic-only AUDIT_HMAC_KEYS=build:collectstatic-only DEBUG=false \
    STATIC_ROOT=/app/staticfiles python manage.py collectstatic --no-input -v 0 \
    && useradd --system --uid 1000 --home /app singlewindow \
    && mkdir -p /app/var /app/media /app/audit-anchors \
    && chown -R singlewindow /app/var /app/media /app/audit-anchors

USER singlewindow
ENV STATIC_ROOT=/app/staticfiles MEDIA_ROOT=/app/media
EXPOSE 8000
CMD ["gunicorn", "singlewindow.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-"]
