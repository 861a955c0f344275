#!/usr/bin/env bash
# Installs every tool the tests use, at the versions pinned in versions.sh, into a project-local directory
# (default: <repo>/.tools; override with TOOLS_DIR). Idempotent: a tool whose stamp matches its pin is not
# rebuilt, so a warm run takes seconds. Works on Debian 12 and on GitHub's ubuntu-24.04 runner given Node,
# Go and Python; Debian packages are installed with apt-get (through sudo when not root).
#
# Usage: test/tools/install.sh [--check] [--only NAME...]
#   --check        install nothing; list what is missing and exit 1 if anything is.
#   --only NAME... only these tools and Debian packages (e.g. --only helm trivy trivy-db git buildah), for
#                  commands that need a few of them (npm run main).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=test/tools/versions.sh
source "$here/versions.sh"

tools_dir=${TOOLS_DIR:-$repo/.tools}
bin_dir=$tools_dir/bin
stamp_dir=$tools_dir/stamps
mkdir -p "$bin_dir" "$stamp_dir"

check_only=false
only=()
while [ $# -gt 0 ]; do
	case $1 in
	--check) check_only=true ;;
	--only)
		shift
		while [ $# -gt 0 ] && [[ $1 != --* ]]; do
			only+=("$1")
			shift
		done
		continue
		;;
	*)
		echo "install.sh: unknown argument $1 (usage: install.sh [--check] [--only NAME...])" >&2
		exit 2
		;;
	esac
	shift
done
# wanted NAME: whether --only (if given) names it.
wanted() {
	[ ${#only[@]} -eq 0 ] && return 0
	local name
	for name in "${only[@]}"; do [ "$name" = "$1" ] && return 0; done
	return 1
}

failed=()
unavailable=()
log() { printf '[tools] %s\n' "$*" >&2; }

# up_to_date NAME PIN PROBE: true when NAME was installed at PIN and PROBE (a file it made) still exists.
up_to_date() {
	[ -f "$stamp_dir/$1" ] && [ "$(cat "$stamp_dir/$1")" = "$2" ] && [ -e "$3" ]
}

# install_step NAME PIN FUNCTION [PROBE]: runs FUNCTION unless NAME is already at PIN; records failures
# instead of stopping, so one unreachable tool does not hide the state of the others.
install_step() {
	local name=$1 pin=$2 fn=$3 probe=${4:-$bin_dir/$1}
	wanted "$name" || return 0
	if up_to_date "$name" "$pin" "$probe"; then return 0; fi
	if $check_only; then
		failed+=("$name $pin (not installed: run test/tools/install.sh)")
		return 0
	fi
	log "installing $name $pin"
	local started=$SECONDS status
	# Not in a condition: bash ignores set -e inside one (in subshells too), so a failing command in the
	# middle of FUNCTION would go on and record the stamp.
	set +e
	(
		set -e
		"$fn" "$pin"
	)
	status=$?
	set -e
	if [ "$status" -eq 0 ]; then
		printf '%s' "$pin" >"$stamp_dir/$name"
		log "installed $name $pin in $((SECONDS - started))s"
	elif [[ " $OPTIONAL_TOOLS " == *" $name "* ]]; then
		unavailable+=("$name $pin")
		log "could not install $name $pin (optional for now: no test uses it yet)"
	else
		failed+=("$name $pin")
		log "FAILED to install $name $pin"
	fi
}

go_install() { # go_install MODULE_PATH@VERSION [go build flags...]
	local target=$1
	shift
	GOBIN="$bin_dir" GOFLAGS=-trimpath go install "$@" "$target"
}

install_helm() { go_install "helm.sh/helm/v4/cmd/helm@$1" -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$1 -X helm.sh/helm/v4/internal/version.metadata="; }

install_helm3() {
	# Helm 3 derives its default Kubernetes version from ldflags (its Makefile reads client-go's version);
	# without them .Capabilities.KubeVersion is v1.20 and charts with a kubeVersion constraint fail.
	local gomod client_go major minor tmp
	gomod=$(module_dir "helm.sh/helm/v3@$1")/go.mod
	client_go=$(awk '$1 == "k8s.io/client-go" { print $2 }' "$gomod")
	local rest=${client_go#v}
	major=$((${rest%%.*} + 1))
	rest=${rest#*.}
	minor=${rest%%.*}
	tmp=$(mktemp -d)
	GOBIN="$tmp" GOFLAGS=-trimpath go install -ldflags "-s -w \
		-X helm.sh/helm/v3/internal/version.version=$1 -X helm.sh/helm/v3/internal/version.metadata= \
		-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor \
		-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor" \
		"helm.sh/helm/v3/cmd/helm@$1"
	mv "$tmp/helm" "$bin_dir/helm3"
	rmdir "$tmp"
}

# Required version of a wrapper module's dependency, checked against the pin in versions.sh.
require_pin() { # require_pin GO_MOD MODULE PIN
	local want
	want=$(awk -v m="$2" '($1 == m || ($1 == "require" && $2 == m)) { print ($1 == "require" ? $3 : $2); exit }' "$1")
	if [ "$want" != "$3" ]; then
		echo "$1 requires $2 $want but versions.sh pins $3: update one of them" >&2
		return 1
	fi
}

install_helm_unittest() {
	# Built from the wrapper module so the replace directive and go.sum pins apply (see helm-unittest/go.mod).
	require_pin "$here/helm-unittest/go.mod" github.com/helm-unittest/helm-unittest "$1" || return 1
	(cd "$here/helm-unittest" && go build -trimpath -ldflags "-s -w" -o "$bin_dir/helm-unittest" github.com/helm-unittest/helm-unittest/cmd/helm-unittest)
}

# kubernetes_ldflags: -ldflags for a component built from k8s.io/kubernetes at KUBERNETES_VERSION.
kubernetes_ldflags() {
	local version=$KUBERNETES_VERSION major minor rest=${KUBERNETES_VERSION#v} ldflags
	major=${rest%%.*}
	rest=${rest#*.}
	minor=${rest%%.*}
	# /version must report the real version: Helm's .Capabilities.KubeVersion and kubeVersion checks read it.
	ldflags="-s -w"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
	done
	printf '%s' "$ldflags"
}

install_kubernetes() {
	local dir=$here/kubernetes
	require_pin "$dir/go.mod" k8s.io/kubernetes "$KUBERNETES_VERSION" || return 1
	(cd "$dir" && go build -trimpath -ldflags "$(kubernetes_ldflags)" -o "$bin_dir/" \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
}

install_etcd() {
	require_pin "$here/etcd/go.mod" go.etcd.io/etcd/server/v3 "$1" || return 1
	(cd "$here/etcd" && go build -trimpath -ldflags "-s -w" -o "$bin_dir/etcd" .)
}

install_kwok() {
	go_install "sigs.k8s.io/kwok/cmd/kwok@$1" -ldflags "-s -w"
	go_install "sigs.k8s.io/kwok/cmd/kwokctl@$1" -ldflags "-s -w"
	# kwok's own stages (fast nodes and pods, volume provisioning) and its StorageClass, from the module.
	local stages=$tools_dir/kwok-stages module
	module=$(module_dir "sigs.k8s.io/kwok@$1")/kustomize/stage
	rm -rf "$stages"
	mkdir -p "$stages"
	cp "$module"/node/fast/node-initialize.yaml "$module"/pod/fast/pod-*.yaml "$module"/volume/fast/{pv,pvc}-*.yaml \
		"$module"/volume/fast/storage-class.yaml "$stages/"
	chmod -R u+w "$stages"
}

install_kubeconform() { go_install "github.com/yannh/kubeconform/cmd/kubeconform@$1" -ldflags "-s -w -X main.version=$1"; }
install_helm_docs() { go_install "github.com/norwoodj/helm-docs/cmd/helm-docs@$1" -ldflags "-s -w"; }
install_actionlint() { go_install "github.com/rhysd/actionlint/cmd/actionlint@$1" -ldflags "-s -w -X github.com/rhysd/actionlint.version=$1"; }
# Trivy imports encoding/json/v2, still behind GOEXPERIMENT=jsonv2 (as in its own goreleaser.yml).
install_trivy() { GOEXPERIMENT=jsonv2 go_install "github.com/aquasecurity/trivy/cmd/trivy@$1" -ldflags "-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=${1#v}"; }

install_python_tools() {
	local venv=$tools_dir/venv
	python3 -m venv "$venv"
	"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-hashes --only-binary=:all: \
		-r "$here/python-requirements.txt"
	local tool
	for tool in yamllint zizmor hadolint; do
		ln -sf "../venv/bin/$tool" "$bin_dir/$tool"
	done
}

# module_dir MODULE@VERSION: the module's directory in the Go module cache (downloaded and verified).
module_dir() {
	local json dir
	json=$(go mod download -json "$1")
	dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")
	if [ -z "$dir" ]; then
		echo "go mod download $1 failed: $(sed -n 's/^[[:space:]]*"Error": "\(.*\)",$/\1/p' <<<"$json")" >&2
		return 1
	fi
	printf '%s' "$dir"
}

install_k8s_schemas() {
	local version dir out=$tools_dir/kubernetes-json-schema
	for version in $KUBERNETES_SCHEMA_VERSIONS; do
		dir=$(module_dir "k8s.io/kubernetes@$version")
		node "$here/k8s-schemas.mjs" "$dir/api/openapi-spec/swagger.json" "$out/$version-standalone-strict" --strict
		node "$here/k8s-schemas.mjs" "$dir/api/openapi-spec/swagger.json" "$out/$version-standalone"
	done
	# Gateway API resources (HTTPRoute) are CRDs, not in Kubernetes' own OpenAPI document.
	dir=$(module_dir "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")
	for version in $KUBERNETES_SCHEMA_VERSIONS; do
		node "$here/k8s-schemas.mjs" --crd "$out/$version-standalone-strict" --strict "$dir"/config/crd/standard/*.yaml
		node "$here/k8s-schemas.mjs" --crd "$out/$version-standalone" "$dir"/config/crd/standard/*.yaml
	done
	# The CRDs themselves, for the test clusters.
	rm -rf "$tools_dir/gateway-api-crds"
	mkdir -p "$tools_dir/gateway-api-crds"
	cp "$dir"/config/crd/standard/*.yaml "$tools_dir/gateway-api-crds/"
	chmod -R u+w "$tools_dir/gateway-api-crds"
}

install_debian_packages() {
	local missing=() pkg sudo=()
	for pkg in $DEBIAN_PACKAGES; do
		wanted "$pkg" || continue
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if $check_only; then
		failed+=("Debian packages: ${missing[*]} (install with: sudo apt-get install -y ${missing[*]})")
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null || ! sudo -n true 2>/dev/null; then
			failed+=("Debian packages: ${missing[*]} (not root and no passwordless sudo: run sudo apt-get install -y ${missing[*]})")
			return 0
		fi
		sudo=(sudo -n)
	fi
	log "apt-get install ${missing[*]}"
	if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
		{ "${sudo[@]}" apt-get update -qq && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }; }; then
		failed+=("Debian packages: ${missing[*]} (apt-get install failed)")
	fi
}

for cmd in go node python3; do
	command -v "$cmd" >/dev/null || failed+=("$cmd (a prerequisite: install it first)")
done
if [ ${#failed[@]} -gt 0 ]; then
	printf '[tools] missing prerequisite: %s\n' "${failed[@]}" >&2
	exit 1
fi

install_debian_packages
install_step helm "$HELM_VERSION" install_helm
install_step helm3 "$HELM3_VERSION" install_helm3
install_step helm-unittest "$HELM_UNITTEST_VERSION" install_helm_unittest
install_step kubeconform "$KUBECONFORM_VERSION" install_kubeconform
install_step helm-docs "$HELM_DOCS_VERSION" install_helm_docs
install_step actionlint "$ACTIONLINT_VERSION" install_actionlint
# Stamps of generated things are keyed on their inputs' content, so editing a pin or the generator redoes them.
install_step python-tools "$(sha256sum "$here/python-requirements.txt" | cut -c1-16)" install_python_tools "$bin_dir/zizmor"
install_step kubernetes-json-schema "$KUBERNETES_SCHEMA_VERSIONS $GATEWAY_API_VERSION $(sha256sum "$here/k8s-schemas.mjs" | cut -c1-16)" \
	install_k8s_schemas "$tools_dir/gateway-api-crds"
install_step trivy "$TRIVY_VERSION" install_trivy
install_step kube-apiserver "$KUBERNETES_VERSION $(sha256sum "$here/kubernetes/go.sum" | cut -c1-16)" install_kubernetes
install_step etcd "$ETCD_VERSION" install_etcd
install_step kwokctl "$KWOK_VERSION" install_kwok

# Further tools, one file per concern (e.g. OpenNebula built from source, the Trivy test database). Each part
# may use the functions above; its Debian packages are listed beside it in <part>.packages (see versions.sh).
for part in "$here"/install.d/*.sh; do
	[ -e "$part" ] || continue
	# shellcheck source=/dev/null
	source "$part"
done

if [ ${#unavailable[@]} -gt 0 ]; then
	log "optional tools not installed: ${unavailable[*]}"
fi
if [ ${#failed[@]} -gt 0 ]; then
	log "not installed:"
	printf '[tools]   - %s\n' "${failed[@]}" >&2
	log "tests that need a missing tool fail and name it; rerun test/tools/install.sh after fixing the cause."
	exit 1
fi
if [ ${#only[@]} -gt 0 ]; then log "present in $bin_dir: ${only[*]}"; else log "all required tools present in $bin_dir"; fi
