# The test's stand-in for the official zookeeper image: Debian's ZooKeeper, configured from
# the same ZOO_* environment (deploy/compose/coordination.yml uses only those).
ARG BASE
FROM ${BASE}
COPY zookeeper-entrypoint.sh /usr/local/bin/zookeeper-entrypoint.sh
RUN chmod +x /usr/local/bin/zookeeper-entrypoint.sh && mkdir -p /data /datalog /conf
ENTRYPOINT ["/usr/local/bin/zookeeper-entrypoint.sh"]
