# The hub's image. By default it runs `lgsp-hub up`; the same image runs router workers
# (`lgsp-hub router`) and connectors (`lgsp-hub connector run module:object`): see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Install the project from the source tree (with the PostgreSQL driver), then drop the sources.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY province ./province
COPY schemas ./schemas
COPY scenarios ./scenarios
RUN pip install ".[postgres]" && rm -rf /src

RUN useradd --create-home --uid 10001 --user-group lgsp
USER lgsp
WORKDIR /home/lgsp

# Listen on every interface inside the container; the default SQLite store lands in /home/lgsp.
ENV LGSP_HOST=0.0.0.0 \
    LGSP_PORT=8080
EXPOSE 8080

ENTRYPOINT ["lgsp-hub"]
CMD ["up"]
