# Shared helpers of up.sh and down.sh (sourced, not run).

# pid_alive PIDFILE BINARYFILE: the recorded process still runs the recorded binary (guards
# against a recycled pid).
pid_alive() {
  local pid bin
  [ -s "$1" ] && [ -s "$2" ] || return 1
  pid=$(cat "$1"); bin=$(cat "$2")
  [ -d "/proc/$pid" ] || return 1
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$bin" ]
}

# binary_in_use PATH: some process runs the executable at PATH.
binary_in_use() {
  local exe
  for exe in /proc/[0-9]*/exe; do
    [ "$(readlink "$exe" 2>/dev/null)" = "$1" ] && return 0
  done
  return 1
}

controlplane_running() {
  local state=$1 server
  pid_alive "$state/etcd.pid" "$state/etcd.binary" || return 1
  pid_alive "$state/apiserver.pid" "$state/apiserver.binary" || return 1
  [ -s "$state/kubeconfig" ] || return 1
  server=$(sed -n 's/^ *server: //p' "$state/kubeconfig" | head -n1)
  curl -fsS --max-time 5 --cacert "$state/pki/ca.crt" --cert "$state/pki/admin.crt" --key "$state/pki/admin.key" \
    "$server/livez" >/dev/null 2>&1
}

# stop_one PIDFILE BINARYFILE: TERM, then KILL after 10 s; only if the pid is still ours.
stop_one() {
  local pid i
  if pid_alive "$1" "$2"; then
    pid=$(cat "$1")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
      [ -d "/proc/$pid" ] || break
      sleep 0.1
    done
    [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

stop_controlplane() {
  stop_one "$1/apiserver.pid" "$1/apiserver.binary"
  stop_one "$1/etcd.pid" "$1/etcd.binary"
}

# free_port: a loopback TCP port nobody listens on right now.
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# wait_until SECONDS WHAT COMMAND...: retry COMMAND every 0.2 s.
wait_until() {
  local limit=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      printf 'up.sh: %s not ready after %s s\n' "$what" "$limit" >&2
      return 1
    fi
    sleep 0.2
  done
}

# write_pki DIR: a CA, the API server's serving certificate and an admin client certificate
# (group system:masters, which the server always authorises). All X.509 v3: rustls, which
# kube-rs uses, rejects v1 certificates that `openssl x509 -req` makes without extensions.
write_pki() {
  local d=$1
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=keyward-controlplane-ca" \
    -keyout "$d/ca.key" -out "$d/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
    -extfile "$d/server.ext" -out "$d/server.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=keyward-admin" -keyout "$d/admin.key" -out "$d/admin.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$d/admin.ext"
  openssl x509 -req -in "$d/admin.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
    -extfile "$d/admin.ext" -out "$d/admin.crt" 2>/dev/null
}

# write_kubeconfig FILE SERVER PKI: credentials embedded, so the file can be copied anywhere.
write_kubeconfig() {
  local b64='base64 -w0'
  cat >"$1" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: keyward
  cluster:
    server: $2
    certificate-authority-data: $($b64 <"$3/ca.crt")
users:
- name: keyward-admin
  user:
    client-certificate-data: $($b64 <"$3/admin.crt")
    client-key-data: $($b64 <"$3/admin.key")
contexts:
- name: keyward
  context:
    cluster: keyward
    user: keyward-admin
    namespace: default
current-context: keyward
KUBECONFIG
}
