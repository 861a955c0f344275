# shellcheck shell=bash
# The `init` role: one-shot preparation of the persistent volume and the database before any daemon
# starts (the chart runs it as an init container; `all` runs it first). Safe to run on every start.

ONE_VAR=$ONE_ROOT/var/lib/one
ONEADMIN_UID=${ONEADMIN_UID:-9869}
ONEADMIN_GID=${ONEADMIN_GID:-9869}

# Creates DIR with MODE and oneadmin ownership if it does not exist. Existing directories are left as they
# are: no recursive chown of the volume on every start (Kubernetes' fsGroup handles a fresh volume).
ensure_dir() { # ensure_dir DIR MODE
	if [ ! -d "$1" ]; then
		mkdir -p "$1"
		chmod "$2" "$1"
		if [ "$(id -u)" -eq 0 ]; then chown "$ONEADMIN_UID:$ONEADMIN_GID" "$1"; fi
	fi
}

own_file() { # own_file FILE MODE
	chmod "$2" "$1"
	if [ "$(id -u)" -eq 0 ]; then chown "$ONEADMIN_UID:$ONEADMIN_GID" "$1"; fi
}

# Run as root (`all`, docker run ... init), init works on a volume oneadmin writes, before any daemon of
# the container starts: every symbolic link where it writes is removed first (rm does not follow it), so no
# write, chmod or chown of root's goes through a link oneadmin planted (sync_remotes does the same for the
# paths of the drivers it copies).
drop_links() { # drop_links PATH...: PATH when it is a link, else the links directly inside it
	[ "$(id -u)" -eq 0 ] || return 0
	local path link
	for path in "$@"; do
		if [ -L "$path" ]; then
			drop_link "$path"
		elif [ -d "$path" ]; then
			while IFS= read -r -d '' link; do drop_link "$link"; done < <(find "$path" -mindepth 1 -maxdepth 1 -type l -print0)
		fi
	done
}

drop_link() {
	rm -f "$1"
	one_log "removed the symbolic link $1 (init runs as root and writes through no link on the volume)"
}

prepare_volume() {
	if [ "$(id -u)" -eq 0 ] && [ -d "$ONE_VAR" ] && [ "$(stat -c %u "$ONE_VAR")" != "$ONEADMIN_UID" ]; then
		chown "$ONEADMIN_UID:$ONEADMIN_GID" "$ONE_VAR" # the volume root only
	fi
	drop_links "$ONE_VAR/.ssh" "$ONE_VAR/.ssh-host-keys" "$ONE_VAR/.one" "$ONE_VAR/backups" \
		"$ONE_VAR/.opennebula-image-version" "$ONE_VAR/.opennebula-image-remotes.sha256" \
		"$ONE_VAR/.opennebula-image-remotes-etc"
	ensure_dir "$ONE_VAR" 0750
	ensure_dir "$ONE_VAR/.one" 0700
	ensure_dir "$ONE_VAR/datastores" 0750
	# oned writes each VM's transfer and deployment files under vms/<id> and does not create vms itself
	# (the packages do): without it every deployment fails in PROLOG.
	ensure_dir "$ONE_VAR/vms" 0750
	ensure_dir "$ONE_VAR/backups" 0750
	ensure_dir "$ONE_ROOT/run/one/ssh-socks" 0700
	ensure_dir "$ONE_ROOT/var/lock/one" 0750
	ensure_dir "$ONE_ROOT/var/log/one" 0750
}

# --- SSH ---------------------------------------------------------------------------------------------

# oneadmin's keypair: from a mounted Secret when one is given (the public key derived when only the
# private key is), else generated once on the volume. Its own public key is authorized, because the
# transfer drivers SSH from the front-end to its own HOSTNAME.
prepare_ssh() {
	local ssh=$ONE_VAR/.ssh secret_dir=${ONE_SSH_KEY_DIR:-$ONE_ROOT/run/secrets/opennebula-ssh} key='' name
	local previous_keys=()
	ensure_dir "$ssh" 0700
	# The public keys on the volume before a rotation: their authorized_keys entries are replaced.
	for name in id_ed25519 id_rsa id_ecdsa; do
		[ ! -f "$ssh/$name.pub" ] || previous_keys+=("$(cut -d' ' -f1,2 "$ssh/$name.pub")")
	done
	for name in id_ed25519 id_rsa id_ecdsa; do
		if [ -f "$secret_dir/$name" ]; then key=$name && break; fi
	done
	if [ -n "$key" ]; then
		install -m 0600 "$secret_dir/$key" "$ssh/$key.tmp"
		mv -f "$ssh/$key.tmp" "$ssh/$key"
		if [ -f "$secret_dir/$key.pub" ]; then
			cp "$secret_dir/$key.pub" "$ssh/$key.pub"
		else
			ssh-keygen -y -f "$ssh/$key" >"$ssh/$key.pub" || one_die "$secret_dir/$key is not a usable SSH private key"
		fi
		one_log "SSH key $key from $secret_dir"
	else
		for name in id_ed25519 id_rsa id_ecdsa; do
			if [ -f "$ssh/$name" ]; then key=$name && break; fi
		done
		if [ -z "$key" ]; then
			key=id_ed25519
			ssh-keygen -q -t ed25519 -N '' -C "oneadmin@${ONE_HOSTNAME:-opennebula}" -f "$ssh/$key"
			one_log "generated SSH key $ssh/$key (mount a Secret at $secret_dir to provide your own)"
		fi
		[ -f "$ssh/$key.pub" ] || ssh-keygen -y -f "$ssh/$key" >"$ssh/$key.pub"
	fi
	own_file "$ssh/$key" 0600
	own_file "$ssh/$key.pub" 0644

	local public old line
	public=$(cut -d' ' -f1,2 "$ssh/$key.pub")
	{
		[ ! -f "$ssh/authorized_keys" ] || while IFS= read -r line || [ -n "$line" ]; do
			for old in "${previous_keys[@]}"; do
				if [ "$old" != "$public" ] && [[ $line == *"$old"* ]]; then continue 2; fi
			done
			printf '%s\n' "$line"
		done <"$ssh/authorized_keys"
		grep -qsF "$public" "$ssh/authorized_keys" || cat "$ssh/$key.pub"
	} >"$ssh/authorized_keys.tmp"
	own_file "$ssh/authorized_keys.tmp" 0600
	mv -f "$ssh/authorized_keys.tmp" "$ssh/authorized_keys"

	# The drivers SSH to the front-end's own HOSTNAME on the default port; point them at sshd's port, and at
	# FRONTEND_SSH_ADDRESS when HOSTNAME is an address in front of the front-end (a load balancer's).
	local own_host=''
	if [ -n "${ONE_HOSTNAME:-}" ] && { [ -n "${FRONTEND_SSH_ADDRESS:-}" ] || [ "${SSHD_PORT:-22}" != 22 ]; }; then
		own_host="Host $ONE_HOSTNAME"$'\n'
		[ -z "${FRONTEND_SSH_ADDRESS:-}" ] || own_host+="  HostName $FRONTEND_SSH_ADDRESS"$'\n'
		own_host+="  Port ${SSHD_PORT:-22}"$'\n'
	fi
	cat >"$ssh/config" <<-EOF
		# Written by the OpenNebula container entrypoint.
		${own_host}Host *
		  StrictHostKeyChecking accept-new
		  ServerAliveInterval 10
		  # OpenNebula's drivers turn ControlMaster on where they need it.
		  ControlMaster no
		  ControlPersist 70s
		  ControlPath /run/one/ssh-socks/ctl-M-%C.sock
	EOF
	own_file "$ssh/config" 0600

	# sshd's host keys persist too, so hypervisors and the front-end keep trusting it across restarts.
	local host_keys=$ONE_VAR/.ssh-host-keys
	ensure_dir "$host_keys" 0700
	[ -f "$host_keys/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$host_keys/ssh_host_ed25519_key"
	[ -f "$host_keys/ssh_host_rsa_key" ] || ssh-keygen -q -t rsa -b 3072 -N '' -f "$host_keys/ssh_host_rsa_key"
}

# --- database ----------------------------------------------------------------------------------------

# Waits until the database server accepts TCP connections, for at most DB_WAIT_TIMEOUT seconds.
wait_for_database() {
	[ "$DB_BACKEND" = mysql ] || return 0
	local timeout=${DB_WAIT_TIMEOUT:-300} waited=0
	require_uint DB_WAIT_TIMEOUT "$timeout"
	until accepts_tcp "$DB_HOST" "$DB_PORT"; do
		if [ "$waited" -ge "$timeout" ]; then
			one_die "database $DB_HOST:$DB_PORT did not accept connections within ${timeout}s (DB_WAIT_TIMEOUT)"
		fi
		if [ $((waited % 10)) -eq 0 ]; then one_log "waiting for database $DB_HOST:$DB_PORT ..."; fi
		sleep 1
		waited=$((waited + 1))
	done
}

# Runs `onedb version` until it answers (0 current, 1 empty, 2 older, 3 newer); -1 means it could not
# ask (connection refused while the server starts, wrong credentials) and is retried until the timeout.
database_state() {
	local timeout=${DB_WAIT_TIMEOUT:-300} started=$SECONDS rc output
	while true; do
		rc=0
		output=$(onedb version 2>&1) || rc=$?
		case $rc in
		0 | 1 | 2 | 3)
			printf '%s' "$rc"
			return 0
			;;
		esac
		if [ $((SECONDS - started)) -ge "$timeout" ]; then
			one_die "onedb version failed (exit $rc) for ${timeout}s (DB_WAIT_TIMEOUT): ${output//$'\n'/ }"
		fi
		sleep 2
	done
}

# A MariaDB/MySQL server must run with READ-COMMITTED isolation for OpenNebula.
check_isolation() {
	[ "$DB_BACKEND" = mysql ] || return 0
	command -v mariadb >/dev/null || return 0
	local level variable
	# transaction_isolation since MariaDB 11.1 and MySQL 5.7.20; tx_isolation before (gone in MySQL 8.0).
	for variable in transaction_isolation tx_isolation; do
		level=$(MYSQL_PWD=$DB_PASSWORD mariadb -h "$DB_HOST" -P "$DB_PORT" -u "$DB_USER" -N -B \
			-e "SELECT @@GLOBAL.$variable" 2>/dev/null) && break
	done
	[ -n "${level:-}" ] || return 0
	if [ -n "$level" ] && [ "$level" != READ-COMMITTED ]; then
		one_log "warning: the database runs with transaction isolation $level; OpenNebula requires READ-COMMITTED"
		one_log "warning: set transaction-isolation = READ-COMMITTED in the server's configuration"
	fi
}

AUTH_FILES=(sunstone_auth onegate_auth oneflow_auth oneform_auth oneks_auth)

# An external MariaDB/MySQL database must exist before `onedb version` can look at it: create it when the
# user may, else say what is missing (onedb only exits 255 then).
ensure_database_exists() {
	[ "$DB_BACKEND" = mysql ] || return 0
	command -v mariadb >/dev/null || return 0
	local client=(mariadb -h "$DB_HOST" -P "$DB_PORT" -u "$DB_USER" -N -B) found
	found=$(MYSQL_PWD=$DB_PASSWORD "${client[@]}" -e "SHOW DATABASES LIKE '${DB_NAME//_/\\_}'" 2>/dev/null) || return 0
	[ -z "$found" ] || return 0
	if MYSQL_PWD=$DB_PASSWORD "${client[@]}" -e "CREATE DATABASE IF NOT EXISTS \`$DB_NAME\`" 2>/dev/null; then
		one_log "created database $DB_NAME on $DB_HOST:$DB_PORT"
	else
		one_die "database $DB_NAME does not exist on $DB_HOST:$DB_PORT and $DB_USER may not create it (or has no privileges on it): create it (CREATE DATABASE $DB_NAME) and grant $DB_USER all privileges on it"
	fi
}

# The backup taken before `onedb upgrade`. For MariaDB the image dumps it itself (the password goes
# through the environment, so any character is safe; onedb would put it in a shell command line).
backup_database() { # backup_database FILE
	if [ "$DB_BACKEND" = mysql ]; then
		(umask 077 && MYSQL_PWD=$DB_PASSWORD mariadb-dump -h "$DB_HOST" -P "$DB_PORT" -u "$DB_USER" \
			--single-transaction --routines "$DB_NAME" >"$1") ||
			one_die "the backup before the upgrade failed (mariadb-dump of $DB_NAME into $1); nothing was changed"
	fi
}

prepare_database() {
	wait_for_database
	ensure_database_exists
	check_isolation
	local state version backup_dir=$ONE_VAR/backups
	version=$(one_version)
	state=$(database_state)
	case $state in
	0)
		one_log "database schema is current for OpenNebula $version"
		backfill_server_auth
		;;
	1) prepare_bootstrap ;;
	2)
		# Named as the chart's restore mode expects (restore.backup=onedb-before-<version>-<time>).
		local backup name
		backup="$backup_dir/onedb-before-$version-$(date -u +%Y%m%dT%H%M%SZ).sql"
		name=${backup##*/}
		if [ "$ONEDB_AUTO_UPGRADE" != true ]; then
			one_die "the database schema is older than OpenNebula $version and ONEDB_AUTO_UPGRADE=false: upgrade it by hand with the new image: onedb backup $backup, then onedb upgrade (run in a container of this image with the same database settings, oned stopped); or set ONEDB_AUTO_UPGRADE=true"
		fi
		one_log "database schema is older than OpenNebula $version: upgrading (backup: $backup)"
		one_log "to roll back: restore $backup (with the Helm chart: restore.enabled=true, restore.backup=${name%.sql}; elsewhere: onedb restore --force $backup, oned stopped), then roll back the image (or the chart) to the previous version"
		if [ "$DB_BACKEND" = mysql ]; then
			backup_database "$backup"
			onedb upgrade --no-backup || one_die "onedb upgrade failed; restore the backup taken before it: onedb restore --force $backup"
		else
			onedb upgrade --backup "$backup" || one_die "onedb upgrade failed; the backup taken before it is $backup"
		fi
		one_log "database upgraded to OpenNebula $version; the backup $backup stays on the volume"
		backfill_server_auth
		;;
	3)
		local latest
		latest=$(find "$backup_dir" -maxdepth 1 -name 'onedb-before-*.sql' -printf '%f\n' 2>/dev/null | sort | tail -n 1)
		one_die "the database was written by a newer OpenNebula than this image's $version (downgrades are not supported): run an image at least as new as the database, or restore the backup taken before the upgrade with onedb restore --force $backup_dir/${latest:-onedb-before-<version>-<time>.sql} and then run the image it was taken with"
		;;
	esac
}

# oned writes the serveradmin files only when it bootstraps a database: one created before OpenNebula 7.2
# has no oneform_auth (nor, before 7.4, oneks_auth), and only 7.4's migrator (7.2.0_to_7.4.0) adds them,
# so a 7.0 database upgraded by a 7.2 image leaves OneForm waiting for a file nothing writes. As that
# migrator does: each holds the same serveradmin secret, copied from a sibling.
backfill_server_auth() {
	local auth_dir=$ONE_VAR/.one name source='' since
	for name in sunstone_auth onegate_auth oneflow_auth; do
		if [ -s "$auth_dir/$name" ]; then source=$auth_dir/$name && break; fi
	done
	[ -n "$source" ] || return 0
	for name in oneform_auth:7.2.0 oneks_auth:7.4.0; do
		since=${name#*:} name=${name%%:*}
		version_ge "$(one_version)" "$since" || continue
		[ ! -e "$auth_dir/$name" ] || continue
		(umask 077 && cp "$source" "$auth_dir/$name.tmp")
		own_file "$auth_dir/$name.tmp" 0600
		mv -f "$auth_dir/$name.tmp" "$auth_dir/$name"
		one_log "wrote $auth_dir/$name from ${source##*/} (the database was bootstrapped before OpenNebula $since had it)"
	done
}

# An empty database: oned bootstraps it on its first start from one_auth, and writes the service
# credentials (sunstone_auth, ...) itself; it refuses if any of them already exists.
prepare_bootstrap() {
	local auth_dir=$ONE_VAR/.one name
	for name in "${AUTH_FILES[@]}"; do
		if [ -e "$auth_dir/$name" ]; then
			one_die "the database is empty but $auth_dir/$name exists (left from an earlier installation?); oned refuses to bootstrap then. Restore that installation's database, or move the files in $auth_dir away to start afresh"
		fi
	done
	if [ ! -f "$auth_dir/one_auth" ]; then
		file_env ONEADMIN_PASSWORD
		[ -n "$ONEADMIN_PASSWORD" ] || one_die "ONEADMIN_PASSWORD (or ONEADMIN_PASSWORD_FILE) is required to bootstrap a new OpenNebula database; there is no default"
		case $ONEADMIN_PASSWORD in
		*$'\n'* | *:*) one_die "ONEADMIN_PASSWORD must not contain newlines or colons" ;;
		esac
		(umask 077 && printf 'oneadmin:%s\n' "$ONEADMIN_PASSWORD" >"$auth_dir/one_auth")
		own_file "$auth_dir/one_auth" 0600
		one_log "seeded the oneadmin password for the first start of oned"
	else
		one_log "database is empty; oned will bootstrap it with the existing $auth_dir/one_auth"
	fi
}

# --- drivers -----------------------------------------------------------------------------------------

# Hypervisors receive their drivers from /var/lib/one/remotes, which lives on the volume: when the image's
# drivers differ from the ones installed there (a new version, or a rebuild with fixes: the manifest of
# their checksums tells), the image's drivers are copied over them. Files the packages do not ship are
# kept. Configuration files (remotes/etc) the operator changed get the operator's changes carried onto the
# new version by a three-way merge against the previous image's pristine copy (kept on the volume); where
# both changed the same lines the operator's file stays, with the new version beside it as FILE.new.
remotes_manifest() { # remotes_manifest DIR: "SHA256  PATH" of every file, in path order
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum | sed 's#  \./#  #')
}

sync_remotes() {
	local marker=$ONE_VAR/.opennebula-image-version manifest=$ONE_VAR/.opennebula-image-remotes.sha256
	local pristine=$ONE_VAR/.opennebula-image-remotes-etc source=$ONE_ROOT/usr/share/one/image/remotes
	local target=$ONE_VAR/remotes version recorded='' rel shipped current shipped_manifest tmp
	version=$(one_version)
	[ -f "$marker" ] && recorded=$(<"$marker")
	[ -d "$source" ] || one_die "$source is missing: the image was not built from docker/Dockerfile"
	shipped_manifest=$(remotes_manifest "$source")
	if [ -d "$target" ] && [ -f "$manifest" ] && [ "$(<"$manifest")" = "$shipped_manifest" ]; then return 0; fi
	one_log "installing OpenNebula $version drivers into $target (volume had: ${recorded:-none})"
	ensure_dir "$target" 0750
	local -A previous=()
	if [ -f "$manifest" ]; then
		while read -r shipped rel; do previous[$rel]=$shipped; done <"$manifest"
	fi
	if [ "$(id -u)" -eq 0 ]; then
		while IFS= read -r -d '' rel; do
			[ ! -L "$target/${rel#./}" ] || drop_link "$target/${rel#./}"
		done < <(cd "$source" && find . -mindepth 1 -print0)
	fi
	tmp=$(mktemp -d "$ONE_VAR/.remotes-sync.XXXXXX")
	cp -R --preserve=mode,timestamps "$source/." "$tmp/"
	local merged=() conflicts=()
	while IFS= read -r -d '' rel; do
		rel=${rel#./}
		[ -f "$target/$rel" ] || continue
		current=$(sha256sum "$target/$rel" | cut -d' ' -f1)
		shipped=$(sha256sum "$source/$rel" | cut -d' ' -f1)
		[ "$current" != "$shipped" ] || continue
		# Unmodified: what the previous image shipped; the new version replaces it.
		if [ -n "${previous[$rel]:-}" ] && [ "${previous[$rel]}" = "$current" ]; then continue; fi
		if [ -f "$pristine/${rel#etc/}" ] &&
			diff3 -m "$target/$rel" "$pristine/${rel#etc/}" "$source/$rel" >"$tmp/$rel.merged" 2>/dev/null; then
			mv -f "$tmp/$rel.merged" "$tmp/$rel"
			merged+=("$rel")
			continue
		fi
		rm -f "$tmp/$rel.merged"
		mv -f "$tmp/$rel" "$tmp/$rel.new"
		cp -p "$target/$rel" "$tmp/$rel"
		conflicts+=("$rel")
	done < <(cd "$source" && find ./etc -type f -print0 2>/dev/null)
	cp -R --preserve=mode,timestamps "$tmp/." "$target/"
	rm -rf "$tmp"
	# The base of the next merge: this image's pristine remotes/etc.
	rm -rf "$pristine.tmp"
	if [ -d "$source/etc" ]; then cp -R --preserve=mode,timestamps "$source/etc" "$pristine.tmp"; else mkdir "$pristine.tmp"; fi
	rm -rf "$pristine"
	mv "$pristine.tmp" "$pristine"
	# Run as root (docker run), the copies would be root's: the drivers run as oneadmin.
	if [ "$(id -u)" -eq 0 ]; then chown -R "$ONEADMIN_UID:$ONEADMIN_GID" "$target" "$pristine"; fi
	printf '%s\n' "$shipped_manifest" | write_file "$manifest" 0644
	printf '%s\n' "$version" | write_file "$marker" 0644
	if [ "$(id -u)" -eq 0 ]; then chown "$ONEADMIN_UID:$ONEADMIN_GID" "$marker" "$manifest"; fi
	for rel in "${merged[@]}"; do one_log "merged your changes to remotes/$rel into OpenNebula $version's"; done
	for rel in "${conflicts[@]}"; do
		one_log "remotes/etc: your changes conflict with OpenNebula $version's in: $rel (merge ${rel##*/}.new by hand)"
	done
	[ -z "$recorded" ] || one_log "run 'onehost sync --force' so the hypervisors get the new drivers"
}

init_role() {
	prepare_volume
	prepare_ssh
	prepare_database
	sync_remotes
	configure_network
	one_log "init done"
}
