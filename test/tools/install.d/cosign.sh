# shellcheck shell=bash disable=SC2154 # bin_dir is set by install.sh, which sources this part
# Part of test/tools/install.sh: cosign v3 (signatures and attestations of the pushed image and chart). Built
# from the Go module proxy, verified by the Go checksum database; its version reported by `cosign version`
# comes from release-utils' ldflags as in cosign's own Makefile.
install_cosign() {
	go_install "github.com/sigstore/cosign/v3/cmd/cosign@$1" \
		-ldflags "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$1 -X sigs.k8s.io/release-utils/version.gitTreeState=clean"
}
install_step cosign "$COSIGN_VERSION" install_cosign
