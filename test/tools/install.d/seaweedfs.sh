# shellcheck shell=bash disable=SC2154 # here and bin_dir are set by install.sh, which sources this part
# Part of test/tools/install.sh: SeaweedFS's `weed`, whose S3 gateway is the real S3-compatible server the
# chart's off-cluster backups are tested against (test/chart/backup-s3.test.ts). Built from the module at
# SEAWEEDFS_VERSION (a pseudo-version: SeaweedFS tags no Go module versions) through the wrapper module in
# test/tools/seaweedfs, whose go.sum the Go checksum database verified.
install_seaweedfs() {
	(cd "$here/seaweedfs" && grep -q "github.com/seaweedfs/seaweedfs ${1%% *}\$" go.mod &&
		GOFLAGS=-trimpath nice go build -ldflags "-s -w" -o "$bin_dir/weed" github.com/seaweedfs/seaweedfs/weed)
}
install_step weed "$SEAWEEDFS_VERSION $(sha256sum "$here/seaweedfs/go.sum" | cut -c1-16)" install_seaweedfs
