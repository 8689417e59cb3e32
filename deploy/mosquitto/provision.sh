#!/bin/sh
# Idempotent broker provisioning through the dynamic-security plugin (mosquitto_ctrl):
#   provision.sh service              the service account the ingest workers and servers use
#   provision.sh devices <file.csv>   one client and role per device from `device_id,secret` lines
#                                     (the file `pnpm citygrid register-sensors --out` writes)
# Needs MQTT_HOST, DYNSEC_ADMIN_USERNAME, DYNSEC_ADMIN_PASSWORD; service also MQTT_SERVICE_USERNAME
# and MQTT_SERVICE_PASSWORD. "already exists" answers are fine: the script can run again.
set -u
CTRL="mosquitto_ctrl -h ${MQTT_HOST:-mqtt} -p ${MQTT_PORT:-1883} -u ${DYNSEC_ADMIN_USERNAME:-dynsec-admin} -P ${DYNSEC_ADMIN_PASSWORD:?} dynsec"

service() {
  user="${MQTT_SERVICE_USERNAME:-citygrid-service}"
  $CTRL createRole citygrid-service || true
  $CTRL addRoleACL citygrid-service subscribePattern 'citygrid/v1/#' allow || true
  $CTRL addRoleACL citygrid-service subscribePattern '$share/citygrid-ingest/citygrid/v1/#' allow || true
  $CTRL addRoleACL citygrid-service publishClientSend 'citygrid/v1/#' allow || true
  $CTRL addRoleACL citygrid-service publishClientReceive 'citygrid/v1/#' allow || true
  $CTRL createClient "$user" -p "${MQTT_SERVICE_PASSWORD:?}" || $CTRL setClientPassword "$user" "$MQTT_SERVICE_PASSWORD"
  $CTRL addClientRole "$user" citygrid-service 10 || true
}

devices() {
  tail -n +2 "$1" | while IFS=, read -r id secret; do
    [ -n "$id" ] || continue
    $CTRL createRole "device-$id" || true
    $CTRL addRoleACL "device-$id" publishClientSend "citygrid/v1/$id/#" allow || true
    $CTRL addRoleACL "device-$id" subscribePattern "citygrid/v1/$id/#" allow || true
    $CTRL createClient "$id" -p "$secret" || $CTRL setClientPassword "$id" "$secret"
    $CTRL addClientRole "$id" "device-$id" || true
  done
}

case "${1:-}" in
  service) service ;;
  devices) devices "${2:?a CSV file of device_id,secret}" ;;
  *) echo "usage: provision.sh service | devices <file.csv>" >&2; exit 2 ;;
esac
