#!/usr/bin/env bash
# Makes sure the backing services the test suites use are up on 127.0.0.1, starting any that
# are down with the command this machine documents for it. Prints what it did.
set -u

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && exec 3>&- 3<&-; }

ensure() {
  local name=$1 port=$2 start=$3
  if port_open "$port"; then echo "services: $name is up on $port"; return; fi
  echo "services: $name is down on $port; starting it"
  bash -c "$start" >/dev/null 2>&1 || echo "services: starting $name failed"
  for _ in $(seq 1 60); do port_open "$port" && { echo "services: $name started"; return; }; sleep 0.5; done
  echo "services: $name did not come up on $port"
}

ensure postgresql 5432 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
ensure redis 6379 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log'
ensure rabbitmq 5672 'rabbitmq-server -detached'
ensure mosquitto 1883 'mosquitto -d -c /etc/mosquitto/mosquitto.conf'
ensure nats 4222 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log'
exit 0
