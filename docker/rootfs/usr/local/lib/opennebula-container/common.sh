# shellcheck shell=bash
# Helpers shared by the entrypoint's parts: messages, *_FILE secrets, validation, version comparison.
# Every path is under ONE_ROOT (empty in the image, a directory in tests and for `configure --root`).

ONE_ROOT=${ONE_ROOT:-}

one_log() { printf '[opennebula] %s\n' "$*" >&2; }
one_die() {
	printf '[opennebula] error: %s\n' "$*" >&2
	exit 1
}

# file_env VAR [DEFAULT]: VAR from the environment, or from the file named by VAR_FILE (Kubernetes and
# Docker secrets), or DEFAULT. Setting both is an error, as in the official mariadb image.
file_env() {
	local var=$1 default=${2:-} file_var="${1}_FILE"
	local value=${!var:-} file=${!file_var:-}
	if [ -n "$value" ] && [ -n "$file" ]; then
		one_die "both $var and $file_var are set; use one of them"
	fi
	if [ -n "$file" ]; then
		[ -r "$file" ] || one_die "$file_var: cannot read $file"
		value=$(<"$file")
	fi
	printf -v "$var" '%s' "${value:-$default}"
	export "${var?}"
	unset "$file_var"
}

# accepts_tcp HOST PORT: something accepts a TCP connection there (bash's /dev/tcp: no tool needed).
accepts_tcp() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

require_port() { # require_port NAME VALUE
	if [[ ! $2 =~ ^[0-9]+$ ]] || [ "$2" -lt 1 ] || [ "$2" -gt 65535 ]; then
		one_die "$1: \"$2\" is not a TCP/UDP port (1-65535)"
	fi
}

# replace_file TMP FILE: puts TMP in FILE's place by rename, so a reader sees the old file or the new one,
# never a half-written one; TMP takes FILE's mode (and owner, when root may set it).
replace_file() {
	if [ -e "$2" ]; then
		chmod --reference="$2" "$1"
		if [ "$(id -u)" -eq 0 ]; then chown --reference="$2" "$1"; fi
	fi
	mv -f "$1" "$2"
}

# write_file FILE MODE: writes standard input to FILE atomically (temporary file beside it, then rename).
write_file() {
	local tmp
	tmp=$(mktemp "$1.XXXXXX")
	cat >"$tmp"
	chmod "$2" "$tmp"
	mv -f "$tmp" "$1"
}

require_bool() { # require_bool NAME VALUE
	case $2 in
	true | false) ;;
	*) one_die "$1: \"$2\" is not true or false" ;;
	esac
}

require_uint() { # require_uint NAME VALUE
	[[ $2 =~ ^[0-9]+$ ]] || one_die "$1: \"$2\" is not a non-negative integer"
}

require_url() { # require_url NAME VALUE
	[[ $2 =~ ^(http|https|tcp)://[^[:space:]\"\'\\]+$ ]] || one_die "$1: \"$2\" is not a URL (e.g. http://host:port/path)"
}

require_host() { # require_host NAME VALUE: a host name, IPv4 or IPv6 address
	[[ $2 =~ ^[A-Za-z0-9._:-]+$ ]] || one_die "$1: \"$2\" is not a host name or IP address"
}

# A value written between double quotes in oned.conf (a " is escaped there as \"): oned reads a backslash
# as itself, but onedb (which reads the DB block through Augeas) drops every backslash; and the editors
# work line by line.
require_template_string() { # require_template_string NAME VALUE
	case $2 in
	*\\* | *$'\n'*) one_die "$1 must not contain backslashes or newlines (oned.conf cannot carry them so that both oned and onedb read them)" ;;
	esac
}

# version_ge A B: true when version A >= B, comparing dot-separated numbers component by component.
version_ge() {
	local IFS=.
	# shellcheck disable=SC2206 # splitting on dots is the point
	local a=($1) b=($2) i
	for ((i = 0; i < 4; i++)); do
		if ((${a[i]:-0} > ${b[i]:-0})); then return 0; fi
		if ((${a[i]:-0} < ${b[i]:-0})); then return 1; fi
	done
	return 0
}

# The OpenNebula version this image carries (ONE_VERSION is baked into the image by the Dockerfile).
one_version() {
	[[ ${ONE_VERSION:-} =~ ^[0-9]+\.[0-9]+\.[0-9]+(\.[0-9]+)?$ ]] ||
		one_die "ONE_VERSION: \"${ONE_VERSION:-}\" is not an OpenNebula version (X.Y.Z); it is set by the image build"
	printf '%s' "$ONE_VERSION"
}
