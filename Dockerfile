# smsgate: one node. By default its database is SQLite in the volume /var/lib/smsgate; set
# SMSGATE_DATABASE=postgresql://... for several nodes on one database (see compose.yaml).
#
#   docker build -t smsgate .
#   docker run -d -p 8080:8080 -v smsgate-data:/var/lib/smsgate --name smsgate smsgate
#   docker exec smsgate smsgate account import /path/in/container/accounts.toml
#
# Any smsgate command runs the same way: `docker run --rm smsgate --version`.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml constraints.txt README.md LICENSE ./
COPY smsgate ./smsgate
# The tested versions (constraints.txt); every dependency has a wheel for this base, so no
# compiler is needed.
RUN python -m venv /opt/smsgate \
 && /opt/smsgate/bin/pip install -c constraints.txt .

FROM python:3.11-slim
LABEL org.opencontainers.image.title="smsgate" \
      org.opencontainers.image.description="Self-hosted A2P SMS gateway" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid 10001 smsgate \
 && useradd --system --uid 10001 --gid smsgate --home-dir /var/lib/smsgate --no-create-home \
      --shell /usr/sbin/nologin smsgate \
 && mkdir -p /var/lib/smsgate \
 && chown smsgate:smsgate /var/lib/smsgate \
 && chmod 0750 /var/lib/smsgate
COPY --from=build /opt/smsgate /opt/smsgate
COPY deploy/docker-entrypoint.sh /usr/local/bin/smsgate-entrypoint
ENV PATH=/opt/smsgate/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SMSGATE_DATABASE=sqlite:////var/lib/smsgate/smsgate.db \
    SMSGATE_HOST=0.0.0.0 \
    SMSGATE_PORT=8080
USER smsgate:smsgate
WORKDIR /var/lib/smsgate
VOLUME ["/var/lib/smsgate"]
# HTTP (every dialect, /healthz, /readyz, /metrics) and the SMPP server.
EXPOSE 8080 2775
# /readyz answers 200 only when the store answers (503 otherwise).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('SMSGATE_PORT', '8080'), timeout=4)" || exit 1
ENTRYPOINT ["sh", "/usr/local/bin/smsgate-entrypoint"]
CMD ["serve"]
