#!/bin/sh
# zoo.cfg from the official image's variables (ZOO_MY_ID, ZOO_SERVERS, ZOO_TICK_TIME,
# ZOO_INIT_LIMIT, ZOO_SYNC_LIMIT, ZOO_CFG_EXTRA, ZOO_4LW_COMMANDS_WHITELIST,
# ZOO_ADMINSERVER_ENABLED, ZOO_STANDALONE_ENABLED), then the server in the foreground.
set -eu
cfg=/conf/zoo.cfg
{
  echo "dataDir=/data"
  echo "dataLogDir=/datalog"
  echo "tickTime=${ZOO_TICK_TIME:-2000}"
  echo "initLimit=${ZOO_INIT_LIMIT:-5}"
  echo "syncLimit=${ZOO_SYNC_LIMIT:-2}"
  echo "autopurge.snapRetainCount=3"
  echo "autopurge.purgeInterval=1"
  echo "maxClientCnxns=60"
  echo "standaloneEnabled=${ZOO_STANDALONE_ENABLED:-true}"
  echo "admin.enableServer=${ZOO_ADMINSERVER_ENABLED:-true}"
  echo "4lw.commands.whitelist=${ZOO_4LW_COMMANDS_WHITELIST:-srvr}"
  if [ -n "${ZOO_SERVERS:-}" ]; then
    for s in $ZOO_SERVERS; do echo "$s"; done
  else
    echo "server.1=localhost:2888:3888;2181"
  fi
  for e in ${ZOO_CFG_EXTRA:-}; do echo "$e"; done
} > "$cfg"
echo "${ZOO_MY_ID:-1}" > /data/myid
exec java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dzookeeper.jmx.log4j.disable=true \
  -cp /conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar \
  org.apache.zookeeper.server.quorum.QuorumPeerMain "$cfg"
