# shellcheck shell=bash
# The HA members' shared credentials (before init): /var/lib/one/.one (one_key, one_auth, the serveradmin
# *_auth files, fireedge_key) is made once, by the first member's bootstrap (or a single front-end's before
# it became member 0), and must be the same on every member: a member without it copies it from a member
# that has it, over oneadmin's SSH (the same key on every member, from a Secret). The first member with no
# credentials anywhere goes on to bootstrap; any other waits for them (HA_JOIN_TIMEOUT seconds).
# Environment: HA_SERVER_NAME, HA_PEERS (NAME=HOST ...), SSHD_PORT, SSH_KEY_DIR, HA_JOIN_TIMEOUT (ONE_ROOT and
# TMPDIR, as in the image's scripts, only for tests).
set -euo pipefail
dir=${ONE_ROOT:-}/var/lib/one/.one
tmp=${TMPDIR:-/tmp}
log() { printf 'ha-credentials: %s\n' "$*"; }
first=${HA_PEERS%% *}
first=${first%%=*}
# The first member's own are the cluster's (its FireEdge writes fireedge_key if a bootstrap left none).
if [ -s "$dir/one_key" ] && { [ -s "$dir/fireedge_key" ] || [ "$HA_SERVER_NAME" = "$first" ]; }; then
	log "$HA_SERVER_NAME has the cluster's credentials"
	exit 0
fi
key=''
for name in id_ed25519 id_rsa id_ecdsa; do
	if [ -f "$SSH_KEY_DIR/$name" ]; then key=$SSH_KEY_DIR/$name && break; fi
done
[ -n "$key" ] || {
	log "no SSH key in $SSH_KEY_DIR: the members copy the credentials with oneadmin's shared key"
	exit 1
}
(umask 077 && cp "$key" "$tmp"/ha-credentials-key)
deadline=$((SECONDS + ${HA_JOIN_TIMEOUT:-900}))
while :; do
	for entry in $HA_PEERS; do
		name=${entry%%=*} host=${entry#*=}
		[ "$name" != "$HA_SERVER_NAME" ] || continue
		# Only a complete set: FireEdge writes fireedge_key when it first starts, after oned's bootstrap.
		if ssh -i "$tmp"/ha-credentials-key -p "$SSHD_PORT" -o BatchMode=yes -o ConnectTimeout=5 \
			-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "oneadmin@$host" \
			'test -s .one/one_key && test -s .one/fireedge_key && tar -C .one -cf - .' >"$tmp"/ha-credentials.tar 2>/dev/null; then
			mkdir -p "$dir"
			chmod 0700 "$dir"
			# (the archive's "." carries the other member's mode for the directory: oneadmin's alone again)
			tar -C "$dir" --no-same-owner -xf "$tmp"/ha-credentials.tar
			chmod 0700 "$dir"
			rm -f "$tmp"/ha-credentials.tar "$tmp"/ha-credentials-key
			log "copied the cluster's credentials from $name"
			exit 0
		fi
	done
	if [ "$HA_SERVER_NAME" = "$first" ]; then
		log "no member has credentials to copy: $HA_SERVER_NAME is the first member (its init bootstraps them)"
		rm -f "$tmp"/ha-credentials.tar "$tmp"/ha-credentials-key
		exit 0
	fi
	if [ "$SECONDS" -ge "$deadline" ]; then
		log "no member served the cluster's credentials within ${HA_JOIN_TIMEOUT:-900}s (HA_JOIN_TIMEOUT)"
		exit 1
	fi
	sleep 5
done
