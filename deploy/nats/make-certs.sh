#!/usr/bin/env bash
# A certificate authority and a server certificate for the platform's NATS (TLS between the services and
# the bus): `bash deploy/nats/make-certs.sh <folder> [host ...]`. The hosts become the certificate's names
# (default: the compose cluster's nats-1, nats-2, nats-3, and localhost / 127.0.0.1). Existing files are
# kept. Writes ca.pem (give it to the services as NATS_CA_FILE), server-cert.pem and server-key.pem (the
# servers'). Keys stay with their owner: never commit them.
set -euo pipefail
dir=${1:?usage: make-certs.sh <folder> [host ...]}
shift || true
hosts=("$@")
[ ${#hosts[@]} -gt 0 ] || hosts=(nats-1 nats-2 nats-3 localhost)
mkdir -p "$dir"
cd "$dir"
umask 077
if [ ! -f ca.pem ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=platform NATS CA" -keyout ca-key.pem -out ca.pem 2>/dev/null
fi
if [ ! -f server-cert.pem ]; then
  san="IP:127.0.0.1"
  for h in "${hosts[@]}"; do san="$san,DNS:$h"; done
  openssl req -newkey rsa:2048 -nodes -subj "/CN=${hosts[0]}" -keyout server-key.pem -out server.csr 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" > server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 -extfile server.ext -out server-cert.pem 2>/dev/null
  rm -f server.csr server.ext
fi
chmod 644 ca.pem server-cert.pem
echo "NATS certificates in $dir: ca.pem (NATS_CA_FILE for the services), server-cert.pem and server-key.pem (the servers')"
