# shellcheck shell=bash disable=SC2154 # here, bin_dir and tools_dir are set by install.sh, which sources this part
# Part of test/tools/install.sh: the real test node of test/support/node. kubelet and kube-proxy are built
# from the same k8s.io/kubernetes pin as kube-apiserver (kubernetes/go.mod; node/kubelet.go.sum adds the
# checksums of the modules only they import), CoreDNS from the Go module proxy, and the pause image from
# the pause.c inside that k8s.io/kubernetes module (a static binary in a one-layer image buildah makes).
# containerd, runc and the CNI plugins are Debian's (node.packages).
: "${here:?sourced by test/tools/install.sh}"

install_kube_node() {
	local tmp
	require_pin "$here/kubernetes/go.mod" k8s.io/kubernetes "$KUBERNETES_VERSION" || return 1
	tmp=$(mktemp -d)
	cp "$here/kubernetes/go.mod" "$tmp/go.mod"
	sort -u "$here/kubernetes/go.sum" "$here/node/kubelet.go.sum" >"$tmp/go.sum"
	(cd "$tmp" && nice go build -trimpath -ldflags "$(kubernetes_ldflags)" -o "$bin_dir/" \
		k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy) || { rm -rf "$tmp"; return 1; }
	rm -rf "$tmp"
}

install_coredns() { GOBIN="$bin_dir" GOFLAGS=-trimpath nice go install -ldflags "-s -w" "github.com/coredns/coredns@$1"; }

# The pause image, as build/pause/Makefile makes it (TAG from that Makefile), saved as a docker-archive
# that test/support/node imports into its containerd.
install_pause_image() {
	local src tag out=$tools_dir/node container
	src=$(module_dir "k8s.io/kubernetes@$KUBERNETES_VERSION")/build/pause
	tag=$(sed -n 's/^TAG ?= //p' "$src/Makefile")
	mkdir -p "$out"
	gcc -Os -Wall -Werror -static -DVERSION="v$tag-local" -o "$out/pause" "$src/linux/pause.c"
	container=$(BUILDAH_ISOLATION=chroot STORAGE_DRIVER=vfs buildah from scratch)
	BUILDAH_ISOLATION=chroot STORAGE_DRIVER=vfs buildah copy "$container" "$out/pause" /pause >/dev/null
	BUILDAH_ISOLATION=chroot STORAGE_DRIVER=vfs buildah config --entrypoint '["/pause"]' --user 65535:65535 "$container"
	rm -f "$out/pause.tar"
	BUILDAH_ISOLATION=chroot STORAGE_DRIVER=vfs buildah commit --quiet --rm "$container" "localhost/pause:$tag" >/dev/null
	BUILDAH_ISOLATION=chroot STORAGE_DRIVER=vfs buildah push --quiet "localhost/pause:$tag" \
		"docker-archive:$out/pause.tar:localhost/pause:$tag"
	printf '%s' "localhost/pause:$tag" >"$out/pause.ref"
}

install_step kubelet "$KUBERNETES_VERSION $(cat "$here/kubernetes/go.sum" "$here/node/kubelet.go.sum" | sha256sum | cut -c1-16)" \
	install_kube_node "$bin_dir/kube-proxy"
install_step coredns "$COREDNS_VERSION" install_coredns
install_step pause-image "$KUBERNETES_VERSION $(sha256sum "$here/install.d/node.sh" | cut -c1-16)" install_pause_image \
	"$tools_dir/node/pause.tar"

# The images the node runs (test/tools/node/image.sh, cached outside the clone by the hash of their inputs;
# the stamp is that cache entry, so a change to docker/rootfs, a stand-in or image.sh rebuilds). The
# front-end image needs the OpenNebula 7.4.0 source build (opennebula.sh's step; build.sh is idempotent).
install_node_image_mariadb() { bash "$here/node/image.sh" mariadb >/dev/null; }
install_node_image_opennebula() {
	bash "$here/opennebula/build.sh" 7.4.0 >/dev/null
	bash "$here/node/image.sh" opennebula >/dev/null
}
for _image in mariadb opennebula; do
	_archive=$(bash "$here/node/image.sh" --path "$_image")
	install_step "node-image-$_image" "$(basename "$(dirname "$_archive")")" "install_node_image_$_image" "$_archive"
done
unset _image _archive
