#!/usr/bin/env bash
# Assembles the images the real test node (test/support/node) runs, without Docker or a registry:
#   opennebula  the front-end image: a Debian 12 root (mmdebstrap, Debian's Ruby gems), OpenNebula built
#               from source by test/tools/opennebula/build.sh (its cached 7.4.0 build), and docker/rootfs,
#               set up as docker/Dockerfile sets up Ubuntu's packages, with the same entrypoint; FireEdge
#               and guacd are stand-ins (stand-ins/, each says what it does not do);
#   mariadb     the MariaDB subchart's image: Debian 12's mariadb-server with stand-ins of the official
#               image's entrypoint and healthcheck.sh (stand-ins/mariadb-*.sh).
# Each is committed with buildah (chroot isolation, vfs storage) and saved as a docker-archive, named as the
# chart's defaults name them, cached outside the clone keyed by the hash of its inputs (this script, the
# stand-ins, docker/rootfs and the OpenNebula build), so it is rebuilt only when they change:
#
#   ${NODE_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/opennebula-kubernetes}/node-image-NAME-HASH/image.tar
#
# Usage: image.sh NAME          builds when missing, prints the archive's path
#        image.sh --path NAME   prints the archive's path, builds nothing
#        image.sh --ref NAME    prints the image reference inside the archive
#        (image.sh --setup NAME ROOT is mmdebstrap's customize hook: it sets ROOT up as image NAME)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
mode=build
case ${1:-} in --path | --ref | --setup) mode=${1#--} && shift ;; esac
name=${1:?usage: image.sh [--path|--ref] opennebula|mariadb}
one_version=7.4.0
chart_value() { awk -v k="$2" '$1 == k":" { gsub(/"/, "", $2); print $2; exit }' "$1"; }
case $name in
opennebula)
	one_root=$(bash "$repo/test/tools/opennebula/build.sh" --path "$one_version")
	[ "$(chart_value "$repo/chart/opennebula/Chart.yaml" appVersion)" = "$one_version" ] ||
		{ echo "chart/opennebula's appVersion is not $one_version, the OpenNebula version image.sh builds" >&2; exit 1; }
	ref=$(awk '/^image:/ { s = 1 } s && $1 == "repository:" { print $2; exit }' "$repo/chart/opennebula/values.yaml"):$one_version
	inputs() { cat "$here/image.sh" "$here"/stand-ins/{fireedge-index.js,guacd} "${one_root%/root}/done"; (cd "$repo/docker/rootfs" && find . -type f | LC_ALL=C sort | xargs sha256sum; find . | LC_ALL=C sort | xargs stat -c '%n %a'); }
	;;
mariadb)
	values=$repo/chart/opennebula/charts/mariadb/values.yaml
	ref=$(chart_value "$values" repository):$(chart_value "$values" tag)
	inputs() { cat "$here/image.sh" "$here"/stand-ins/mariadb-*.sh; }
	;;
*) echo "image.sh: unknown image $name (opennebula, mariadb)" >&2 && exit 2 ;;
esac
cache=${NODE_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/opennebula-kubernetes}
prefix=$cache/node-image-$name-$(inputs | sha256sum | cut -c1-12)
case $mode in
path) echo "$prefix/image.tar" && exit 0 ;;
ref) echo "$ref" && exit 0 ;;
esac
in_root() { chroot "$rootfs" "$@"; }
setup_opennebula() {
	# As docker/Dockerfile: oneadmin (uid/gid 9869, "*" password), OpenNebula's files, pristine copies of
	# /etc/one and the remotes for init, the runtime directories, docker/rootfs with the same modes.
	in_root groupadd --system --gid 9869 oneadmin
	in_root useradd --system --uid 9869 --gid oneadmin --home-dir /var/lib/one --no-create-home --shell /bin/bash oneadmin
	in_root usermod --password '*' oneadmin
	# OpenNebula's /var/run/one and /var/lock/one are made below where Debian's /var/run and /var/lock point.
	tar -C "$one_root" --exclude=./var/run --exclude=./var/lock -cf - . | tar -C "$rootfs" -xf -
	chown -R 9869:9869 "$rootfs/var/lib/one" "$rootfs/etc/one"
	install -D -m 0644 "$here/stand-ins/fireedge-index.js" "$rootfs/usr/lib/one/fireedge/dist/index.js"
	printf '{"type": "module"}\n' >"$rootfs/usr/lib/one/fireedge/dist/package.json"
	install -D -m 0755 "$here/stand-ins/guacd" "$rootfs/usr/share/one/guacd/sbin/guacd"
	install -d -m 0755 "$rootfs/usr/share/one/image" "$rootfs/usr/share/opennebula-container"
	: >"$rootfs/usr/share/opennebula-container/packaged-secrets.sha256"
	cp -a "$rootfs/etc/one" "$rootfs/usr/share/opennebula-container/etc-one"
	cp -a "$rootfs/var/lib/one/remotes" "$rootfs/usr/share/one/image/remotes"
	local state
	for state in oneform oneks; do
		if [ -d "$rootfs/var/lib/one/$state" ]; then cp -a "$rootfs/var/lib/one/$state" "$rootfs/usr/share/one/image/$state"; fi
	done
	install -d -o 9869 -g 9869 -m 0750 "$rootfs"/var/log/one "$rootfs"/var/lock/one "$rootfs"/run/one "$rootfs"/run/one/ssh-socks
	install -d -m 0755 "$rootfs/run/sshd"
	chown -R 9869:9869 "$rootfs/etc/ssh/sshd_config.d"
	printf '%s\n' "$one_version" >"$rootfs/usr/share/one/image/version"
	install -m 0755 "$repo/docker/rootfs/usr/local/bin/opennebula-entrypoint" "$rootfs/usr/local/bin/"
	install -d "$rootfs/usr/local/lib/opennebula-container"
	install -m 0644 "$repo"/docker/rootfs/usr/local/lib/opennebula-container/* "$rootfs/usr/local/lib/opennebula-container/"
	install -m 0644 "$repo/docker/rootfs/etc/supervisor/opennebula.conf" "$rootfs/etc/supervisor/opennebula.conf"
}

setup_mariadb() {
	# The official image's mysql user is uid/gid 999 (the chart's securityContext runs as it); mariadbd
	# listens on every address (Debian's packaging binds 127.0.0.1); the data directory starts empty.
	in_root groupmod -g 999 mysql
	in_root usermod -u 999 mysql
	rm -rf "$rootfs"/var/lib/mysql/* "$rootfs"/run/mysqld
	install -d -o 999 -g 999 -m 0755 "$rootfs/var/lib/mysql" "$rootfs/run/mysqld"
	sed -i 's/^bind-address/#&/' "$rootfs/etc/mysql/mariadb.conf.d/50-server.cnf"
	install -m 0755 "$here/stand-ins/mariadb-entrypoint.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"
	install -m 0755 "$here/stand-ins/mariadb-healthcheck.sh" "$rootfs/usr/local/bin/healthcheck.sh"
}

if [ "$mode" = setup ]; then
	rootfs=${2:?usage: image.sh --setup NAME ROOT}
	"setup_$name"
	exit 0
fi
[ -f "$prefix/image.tar" ] && { echo "$prefix/image.tar"; exit 0; }
if [ "$name" = opennebula ] && [ ! -f "${one_root%/root}/done" ]; then
	echo "image.sh: the OpenNebula $one_version build is missing: run test/tools/install.sh --only opennebula-$one_version" >&2
	exit 1
fi

log() { printf '[node image %s] %s\n' "$name" "$*" >&2; }
mkdir -p "$cache"
exec 9>"$cache/.lock-node-image-$name"
flock 9
[ -f "$prefix/image.tar" ] && { echo "$prefix/image.tar"; exit 0; }
started=$SECONDS
work=$(mktemp -d "$cache/.node-image-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
export BUILDAH_ISOLATION=chroot STORAGE_DRIVER=vfs

# Debian 12 with what the entrypoint and the daemons need (oned's and monitord's libraries, found with
# ldd; the Ruby gems of test/tools/install.d/opennebula.packages; nodejs for the stand-ins).
one_packages=(bash coreutils util-linux findutils gawk sed procps iproute2 ca-certificates tini supervisor
	openssh-server openssh-client mariadb-client nodejs ruby ruby-sequel ruby-mysql2 ruby-sqlite3 ruby-augeas
	augeas-lenses ruby-nokogiri ruby-xmlrpc ruby-ox ruby-sinatra ruby-rack ruby-webrick ruby-ffi-rzmq
	ruby-treetop ruby-parse-cron ruby-ipaddress ruby-net-ldap ruby-json-schema ruby-zeitwerk libzmq5
	libxmlrpc-c++8v5 libxmlrpc-core-c3 libsqlite3-0 libmariadb3 libssl3 libxml2 libcurl4 libstdc++6)
mariadb_packages=(mariadb-server mariadb-client)
packages=("${one_packages[@]}")
[ "$name" = mariadb ] && packages=("${mariadb_packages[@]}")
log "mmdebstrap bookworm (${#packages[@]} packages)"
# shellcheck disable=SC2016 # $1 is the hook's argument, expanded by mmdebstrap
nice mmdebstrap --quiet --mode=root --variant=apt --include="$(IFS=,; echo "${packages[*]}")" \
	--customize-hook="bash '$here/image.sh' --setup $name \"\$1\"" \
	--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/etc/ssh/ssh_host_*' \
	bookworm "$work/rootfs.tar" >&2

case $name in
opennebula) config=(--env "ONE_VERSION=$one_version" --entrypoint '["/usr/bin/tini", "--", "/usr/local/bin/opennebula-entrypoint"]'
	--cmd all --port 2633 --port 2616 --port 2474 --port 5030 --port 4124 --port 22) ;;
mariadb) config=(--entrypoint '["/usr/local/bin/docker-entrypoint.sh"]' --cmd mariadbd --user mysql --port 3306) ;;
esac
log "committing $ref"
container=$(buildah from scratch)
buildah add --quiet "$container" "$work/rootfs.tar" / >/dev/null
# mmdebstrap leaves /run (a tmpfs at boot) empty; the entrypoint expects the Dockerfile's directories there.
if [ "$name" = opennebula ]; then
	install -d -m 0755 "$work/run/run/sshd" "$work/run/run/lock"
	install -d -o 9869 -g 9869 -m 0750 "$work/run/run/one" "$work/run/run/one/ssh-socks" "$work/run/run/lock/one"
	tar -C "$work/run" --numeric-owner -cf "$work/run.tar" run
	buildah add --quiet "$container" "$work/run.tar" / >/dev/null
fi
buildah config "${config[@]}" --label "org.opencontainers.image.description=real-node test image ($name), not for publication" "$container"
buildah commit --quiet --rm "$container" "$ref" >/dev/null
mkdir -p "$work/out"
buildah push --quiet "$ref" "docker-archive:$work/out/image.tar:$ref"
buildah rmi "$ref" >/dev/null
rm -rf "$prefix"
mv "$work/out" "$prefix"
printf 'built %s in %ss\n' "$ref" "$((SECONDS - started))" >"$prefix/done"
for old in "$cache/node-image-$name-"*; do [ "$old" = "$prefix" ] || rm -rf "$old"; done
log "built in $((SECONDS - started))s"
echo "$prefix/image.tar"
