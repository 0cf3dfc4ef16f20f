# The test's stand-in for the official nats image: Debian's nats-server as the entry point.
ARG BASE
FROM ${BASE}
RUN mkdir -p /data
ENTRYPOINT ["nats-server"]
