#!/usr/bin/env bash
# Builds OpenNebula VERSION from its release source (oned, monitord, the scheduler, onedb, OneFlow, OneGate,
# hem and the CLI) and installs it with OpenNebula's own install.sh into a staging root that has the
# packaged layout (/usr/bin, /usr/lib/one, /etc/one, /var/lib/one, /usr/share/one), never into the host's
# system directories. The result is cached outside the git clone, keyed by version and by this script's
# hash, so fresh clones (CI) reuse it:
#
#   ${OPENNEBULA_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/opennebula-kubernetes}/opennebula-VERSION-HASH/root
#
# Usage: test/tools/opennebula/build.sh VERSION      builds when missing, prints the staging root
#        test/tools/opennebula/build.sh --path VERSION  prints the staging root, builds nothing
#
# Source: OPENNEBULA_SOURCE_DIR/opennebula-VERSION.tar.gz (default ../shared/upstream-src beside the
# clone), verified against the SHA-256 and commit pinned below; else GitHub's tag archive, verified against
# the pinned commit (git get-tar-commit-id). Build dependencies: test/tools/install.d/opennebula.packages.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)

# version  sha256-of-the-shared-archive  commit-of-tag-release-VERSION
pins() {
	case $1 in
	7.0.0) echo 629139fc88274b26b92666b8ce4d31103d3e8183ea9cc0592ea8851fa062c100 4610231fa77c9625512002705b3f541e148eea6d ;;
	7.4.0) echo 94e5e6dece7fe22a8b0d1a35770044eac3bd44cb8ab7e1d0061ffc0aacc8057c fe684f0c433aacf574504fc297c9fced09cdd955 ;;
	*) return 1 ;;
	esac
}

path_only=false
if [ "${1:-}" = "--path" ]; then
	path_only=true
	shift
fi
version=${1:?usage: build.sh [--path] VERSION}
if ! read -r sha commit < <(pins "$version"); then
	echo "OpenNebula $version is not pinned in $here/build.sh (pinned: 7.0.0, 7.4.0)" >&2
	exit 2
fi
cache=${OPENNEBULA_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/opennebula-kubernetes}
hash=$(sha256sum "$here/build.sh" | cut -c1-12)
prefix=$cache/opennebula-$version-$hash
if $path_only || [ -f "$prefix/done" ]; then
	echo "$prefix/root"
	exit 0
fi

log() { printf '[opennebula %s] %s\n' "$version" "$*" >&2; }
mkdir -p "$cache"
exec 9>"$cache/.lock-$version"
flock 9
if [ -f "$prefix/done" ]; then
	echo "$prefix/root"
	exit 0
fi

# A failed build's directory is kept for its logs until the next attempt.
rm -rf "$cache/.build-$version."*
work=$(mktemp -d "$cache/.build-$version.XXXXXX")
archive=$work/src.tar.gz
source_dir=${OPENNEBULA_SOURCE_DIR:-$repo/../shared/upstream-src}
if [ -f "$source_dir/opennebula-$version.tar.gz" ]; then
	cp "$source_dir/opennebula-$version.tar.gz" "$archive"
	if ! echo "$sha  $archive" | sha256sum -c --quiet >/dev/null 2>&1; then
		echo "$source_dir/opennebula-$version.tar.gz does not have the pinned SHA-256 $sha" >&2
		exit 1
	fi
else
	url=https://github.com/OpenNebula/one/archive/refs/tags/release-$version.tar.gz
	log "downloading $url"
	if ! curl -fsSL --retry 3 -o "$archive" "$url"; then
		echo "cannot build OpenNebula $version: no $source_dir/opennebula-$version.tar.gz and $url cannot be" \
			"downloaded. Put the release-$version source archive (git archive of commit $commit) there, or set" \
			"OPENNEBULA_SOURCE_DIR to its directory." >&2
		exit 1
	fi
fi
got=$(gzip -dc "$archive" | git get-tar-commit-id || true)
if [ "$got" != "$commit" ]; then
	echo "the OpenNebula $version source archive is commit '${got:-none}', not the pinned $commit" >&2
	exit 1
fi

log "building in $work (log: $work/build.log)"
started=$SECONDS
mkdir "$work/src"
tar -xzf "$archive" -C "$work/src" --strip-components=1
cd "$work/src"
# gRPC off (7.2+ builds it by default; the image's oned uses XML-RPC), no noVNC proxy, no parsers
# (regenerating them breaks the build with Debian's bison).
grpc=()
if grep -q "ARGUMENTS.get('grpc'" SConstruct; then grpc=(grpc=no); fi
if ! scons -j"$(nproc)" mysql=yes svncterm=no "${grpc[@]}" >"$work/build.log" 2>&1; then
	tail -n 60 "$work/build.log" >&2
	echo "scons failed for OpenNebula $version (see $work/build.log)" >&2
	exit 1
fi
log "built in $((SECONDS - started))s"
stage=$work/root
# Missing optional artefacts (FireEdge's bundle, vendored Prometheus) make cp complain; the rest installs.
DESTDIR=$stage ./install.sh -u "$(id -u)" -g "$(id -g)" >"$work/install.log" 2>&1 || true
for f in usr/bin/oned usr/lib/one/mads/onemonitord usr/bin/onedb usr/bin/onehost etc/one/oned.conf \
	etc/one/monitord.conf var/lib/one/remotes; do
	[ -e "$stage/$f" ] || {
		echo "install.sh did not install /$f for OpenNebula $version (see $work/install.log)" >&2
		exit 1
	}
done
# The Augeas lens onedb reads oned.conf with, where the packages put it.
install -D -m 0644 share/augeas/oned.aug "$stage/usr/share/augeas/lenses/oned.aug"
# Every Ruby program starts with `require 'load_opennebula_paths'`, which the packages resolve to the
# setup of their bundled gems. Here Debian's gems are on Ruby's own paths; the differences that matter:
# OneFlow reads treetop's version from the activated gem, and Debian 12's ruby-augeas 0.5 names
# Augeas.open what onedb calls Augeas.create (0.6+).
mkdir -p "$stage/usr/lib/ruby/vendor_ruby"
cat >"$stage/usr/lib/ruby/vendor_ruby/load_opennebula_paths.rb" <<'RUBY'
# Written by test/tools/opennebula/build.sh: OpenNebula on Debian's gems.
begin
    gem 'treetop'
rescue LoadError
    nil
end
begin
    require 'augeas'
    unless Augeas.respond_to?(:create)
        def Augeas.create(opts = {}, &block)
            flags = Augeas::NONE
            flags |= Augeas::NO_MODL_AUTOLOAD if opts[:no_modl_autoload]
            flags |= Augeas::NO_LOAD if opts[:no_load]
            open(opts[:root], opts[:loadpath], flags, &block)
        end
    end
rescue LoadError
    nil
end
RUBY
printf '%s\n' "$version" >"$stage/usr/share/one/source-version"
rm -rf "$prefix"
mkdir -p "$prefix"
mv "$stage" "$prefix/root"
cp "$work/build.log" "$work/install.log" "$prefix/"
rm -rf "$work"
printf 'built %s (%s) in %ss\n' "$version" "$commit" "$((SECONDS - started))" >"$prefix/done"
# Earlier builds of this version (other script hashes) are dead weight.
for old in "$cache/opennebula-$version-"*; do
	[ "$old" = "$prefix" ] || rm -rf "$old"
done
log "installed in $prefix/root after $((SECONDS - started))s"
echo "$prefix/root"
