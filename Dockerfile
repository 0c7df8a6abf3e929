# balcao in a container: the alternative to the systemd unit (deploy/balcao.service).
#
#   docker build -t balcao .
#   docker run -d --name balcao --restart on-failure \
#     -v /etc/balcao:/etc/balcao:ro -v balcao-data:/var/lib/balcao \
#     --env-file /etc/balcao/balcao.env balcao
#
# No secret is baked in: config.yaml and the credentials file are mounted at run time
# (/etc/balcao, read-only); the journal lives on the /var/lib/balcao volume, so set
# journal.path: /var/lib/balcao/balcao.sqlite3 in the mounted config.yaml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BALCAO_TEMPLATES=/opt/balcao/templates

RUN groupadd --system balcao \
 && useradd --system --gid balcao --home-dir /var/lib/balcao --shell /usr/sbin/nologin balcao \
 && mkdir -p /var/lib/balcao /etc/balcao \
 && chown balcao:balcao /var/lib/balcao && chmod 0700 /var/lib/balcao

WORKDIR /opt/balcao
# Dependencies first (pinned), so code changes do not reinstall them.
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY pyproject.toml README.md* ./
COPY worker ./worker
COPY templates ./templates
RUN pip install --no-deps . \
 && balcao --help > /dev/null

USER balcao
VOLUME ["/var/lib/balcao"]
WORKDIR /var/lib/balcao
# systemd's watchdog does not exist here; Docker restarts on a non-zero exit instead.
CMD ["balcao", "run", "-c", "/etc/balcao/config.yaml"]
