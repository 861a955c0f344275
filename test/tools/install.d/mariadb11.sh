# shellcheck shell=bash
# Part of test/tools/install.sh: a MariaDB 11 server beside Debian 12's 10.11, for the checks whose SQL
# differs across that line (init reads @@GLOBAL.transaction_isolation, which only MariaDB 11.1 and later
# have). Debian 13 ("trixie", MARIADB11_SUITE)'s mariadb-server-core and mariadb-client-core, with the
# libraries they link against, are unpacked under $tools_dir/mariadb-11 and run through trixie's own
# dynamic loader (its binaries need a newer C library than Debian 12's): wrappers in bin/ and sbin/ make it
# an install tree that mariadb-install-db's --basedir accepts. Verified as apt verifies: InRelease's
# signature against Debian's archive keyring, Packages.xz by InRelease's SHA256, each .deb by Packages'.
# test/support/mariadb.ts starts it with start({ server: 'mariadb-11' }).
: "${here:?sourced by test/tools/install.sh}" "${tools_dir:?sourced by test/tools/install.sh}"
MARIADB11_SUITE=trixie
MARIADB11_MIRROR=${MARIADB11_MIRROR:-http://deb.debian.org/debian}
# The packages, and the libraries of the binaries the tests run (install_mariadb11 checks none is missing).
MARIADB11_PACKAGES="mariadb-server-core mariadb-client-core mariadb-common libc6 libstdc++6 libgcc-s1 libaio1t64
	libcrypt1 libnuma1 libpcre2-8-0 libssl3t64 libsystemd0 libcap2 liburing2 zlib1g libzstd1 liblz4-1 liblzma5
	libgcrypt20 libgpg-error0 libncursesw6 libtinfo6 libedit2 libbsd0 libmd0"

mariadb11_fetch() { # mariadb11_fetch URL FILE
	curl -fsSL --retry 3 --max-time 300 -o "$2" "$1" || { echo "could not download $1" >&2 && return 1; }
}

mariadb11_sha256() { # mariadb11_sha256 FILE SHA256: refuses a file whose digest differs
	[ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ] || { echo "$1: SHA256 is not $2 (as the signed index says)" >&2 && return 1; }
}

# The signed index: Packages of main/binary-amd64, checked against InRelease.
mariadb11_index() { # mariadb11_index WORK
	local work=$1 dist=$MARIADB11_MIRROR/dists/$MARIADB11_SUITE sum
	mariadb11_fetch "$dist/InRelease" "$work/InRelease"
	gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg --output "$work/Release" "$work/InRelease" 2>"$work/gpgv.log" ||
		{ cat "$work/gpgv.log" >&2 && echo "$dist/InRelease: no good signature by Debian's archive keys" >&2 && return 1; }
	grep -qx "Codename: $MARIADB11_SUITE" "$work/Release" || { echo "$dist/InRelease is signed, but not $MARIADB11_SUITE's" >&2 && return 1; }
	sum=$(awk '/^SHA256:/ { s = 1; next } /^[^ ]/ { s = 0 } s && $3 == "main/binary-amd64/Packages.xz" { print $1 }' "$work/Release")
	[ -n "$sum" ] || { echo "$dist/InRelease lists no main/binary-amd64/Packages.xz" >&2 && return 1; }
	mariadb11_fetch "$dist/main/binary-amd64/Packages.xz" "$work/Packages.xz"
	mariadb11_sha256 "$work/Packages.xz" "$sum"
	xz -dc "$work/Packages.xz" >"$work/Packages"
}

mariadb11_wrap() { # mariadb11_wrap ROOT PROGRAM WRAPPER: runs ROOT's PROGRAM with ROOT's loader and libraries
	printf '#!/bin/sh\nexec %q --library-path %q %q "$@"\n' "$1/usr/lib64/ld-linux-x86-64.so.2" \
		"$1/lib/x86_64-linux-gnu:$1/usr/lib/x86_64-linux-gnu" "$1/$2" >"$3"
	chmod 0755 "$3"
}

install_mariadb11() {
	# Downloads go under the destination, which a failed attempt leaves incomplete and the next one replaces.
	local dest=$tools_dir/mariadb-11 package fields file sum program missing
	local work=$dest/index root=$dest/root
	rm -rf "$dest" && mkdir -p "$work" "$dest/bin" "$dest/sbin" "$dest/share"
	mariadb11_index "$work"
	for package in $MARIADB11_PACKAGES; do
		fields=$(awk -v p="$package" '$0 == "Package: " p { s = 1 } s && /^Filename:/ { f = $2 } s && /^SHA256:/ { h = $2 }
			s && /^$/ { print f, h; exit }' "$work/Packages")
		read -r file sum <<<"$fields"
		if [ -z "$file" ] || [ -z "$sum" ]; then echo "$MARIADB11_SUITE lists no package $package" >&2 && return 1; fi
		mariadb11_fetch "$MARIADB11_MIRROR/$file" "$work/${file##*/}"
		mariadb11_sha256 "$work/${file##*/}" "$sum"
		dpkg-deb -x "$work/${file##*/}" "$root"
		rm "$work/${file##*/}"
	done
	for program in usr/bin/mariadb usr/bin/my_print_defaults usr/bin/resolveip; do
		mariadb11_wrap "$root" "$program" "$dest/bin/${program##*/}"
	done
	mariadb11_wrap "$root" usr/sbin/mariadbd "$dest/sbin/mariadbd"
	cp "$root/usr/bin/mariadb-install-db" "$dest/bin/"
	ln -s ../root/usr/share/mariadb "$dest/share/mariadb"
	missing=$("$root/usr/lib64/ld-linux-x86-64.so.2" --library-path "$root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu" \
		--list "$root/usr/sbin/mariadbd" 2>&1 | grep 'not found' || true)
	[ -z "$missing" ] || { echo "mariadbd 11 lacks libraries (add their packages to MARIADB11_PACKAGES): $missing" >&2 && return 1; }
	"$dest/sbin/mariadbd" --version | grep -q ' Ver 11\.' || { echo "$MARIADB11_SUITE's mariadbd is not MariaDB 11" >&2 && return 1; }
	# The verified index (InRelease, Packages.xz) stays, for test/checks/mariadb11-install.test.ts's refusals.
	rm -f "$work/Release" "$work/Packages" "$work/gpgv.log"
}
install_step mariadb-11 "$MARIADB11_SUITE $(sha256sum "$here/install.d/mariadb11.sh" | cut -c1-16)" install_mariadb11 \
	"$tools_dir/mariadb-11/sbin/mariadbd"
