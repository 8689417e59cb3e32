#!/bin/sh
# First start only: create the dynamic-security state with its admin, then run the broker.
set -eu
STATE=/mosquitto/data/dynsec.json
if [ ! -f "$STATE" ]; then
  : "${DYNSEC_ADMIN_PASSWORD:?set DYNSEC_ADMIN_PASSWORD}"
  mosquitto_ctrl dynsec init "$STATE" "${DYNSEC_ADMIN_USERNAME:-dynsec-admin}" "$DYNSEC_ADMIN_PASSWORD"
  chown mosquitto:mosquitto "$STATE" 2>/dev/null || true
fi
exec mosquitto -c /mosquitto/config/mosquitto.conf
