# shellcheck shell=bash disable=SC2154 # here and bin_dir are set by install.sh, which sources this part
# Part of test/tools/install.sh: the Trivy vulnerability database generator the build-scan-push tests use
# (test/tools/trivy-db, built with the trivy-db module pinned in its go.mod/go.sum).
install_trivy_db() {
	(cd "$here/trivy-db" && go build -trimpath -ldflags "-s -w" -o "$bin_dir/trivy-db" .)
}
install_step trivy-db "$(cat "$here/trivy-db/go.sum" "$here/trivy-db/main.go" | sha256sum | cut -c1-16)" install_trivy_db
