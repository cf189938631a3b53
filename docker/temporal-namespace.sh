#!/bin/sh
# The namespace the worker and API use (run by the `temporal-namespace` service in
# docker-compose.yml, in the temporalio/admin-tools image): waits until the frontend at
# TEMPORAL_ADDRESS serves, creates NAMESPACE with RETENTION when it does not exist, and returns
# once the namespace takes calls (a new one does after the server's namespace cache refreshes).
set -eu
: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}" "${RETENTION:=30d}"

wait_for() {
  what=$1
  shift
  tries=0
  until "$@" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 90 ]; then
      echo "temporal-namespace: ${what} after 3 minutes; giving up (see \`docker compose logs temporal\`)" >&2
      exit 1
    fi
    sleep 2
  done
}

wait_for "Temporal at ${TEMPORAL_ADDRESS} is not serving" temporal operator cluster health --address "$TEMPORAL_ADDRESS"
if temporal operator namespace describe --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
  echo "temporal-namespace: ${NAMESPACE} exists"
else
  temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" --address "$TEMPORAL_ADDRESS"
  echo "temporal-namespace: created ${NAMESPACE} (retention ${RETENTION})"
fi
wait_for "namespace ${NAMESPACE} does not take calls" temporal workflow list --namespace "$NAMESPACE" --limit 1 --address "$TEMPORAL_ADDRESS"
echo "temporal-namespace: ${NAMESPACE} is ready"
