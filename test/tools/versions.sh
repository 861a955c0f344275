# shellcheck shell=bash disable=SC2034 # every variable here is read by the scripts that source this file
# Every tool the tests use, pinned. Sourced by test/tools/install.sh; bump a version here and nowhere else.
# Go tools are verified by the Go checksum database (sum.golang.org) or by the committed go.sum of their
# wrapper module; Python tools by the sha256 hashes in python-requirements.txt; Debian packages by apt's
# signed repository metadata.

HELM_VERSION=v4.2.4              # helm.sh/helm/v4, newest 4.2.x
HELM3_VERSION=v3.21.4            # helm.sh/helm/v3, newest 3.21.x (chart lint must pass on Helm 3 too)
HELM_UNITTEST_VERSION=v1.1.2     # github.com/helm-unittest/helm-unittest, pinned in helm-unittest/go.mod
KUBECONFORM_VERSION=v0.8.0       # github.com/yannh/kubeconform
HELM_DOCS_VERSION=v1.14.2        # github.com/norwoodj/helm-docs (the chart README is generated)
ACTIONLINT_VERSION=v1.7.12       # github.com/rhysd/actionlint
TRIVY_VERSION=v0.74.0            # github.com/aquasecurity/trivy
SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6 # github.com/seaweedfs/seaweedfs (S3 gateway), pinned in seaweedfs/go.mod
COSIGN_VERSION=v3.1.3            # github.com/sigstore/cosign/v3 (install.d/cosign.sh)

# Kubernetes versions whose JSON schemas kubeconform validates against: the oldest and the newest the chart
# supports. Generated offline from the OpenAPI document inside the k8s.io/kubernetes module.
KUBERNETES_SCHEMA_VERSIONS="v1.29.15 v1.36.3"
# Gateway API CRDs (HTTPRoute), schemas generated from the CRDs in the sigs.k8s.io/gateway-api module.
GATEWAY_API_VERSION=v1.6.3
# Prometheus Operator CRDs (ServiceMonitor, PodMonitor, PrometheusRule), schemas generated the same way.
PROMETHEUS_OPERATOR_VERSION=v0.85.0

# The test control plane (issue: chart tests on a real API server): Kubernetes components built from
# k8s.io/kubernetes (pinned in kubernetes/go.mod), etcd (etcd/go.mod), kwok and kwokctl.
KUBERNETES_VERSION=v1.36.3
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
COREDNS_VERSION=v1.15.0          # github.com/coredns/coredns (cluster DNS of the real test node, test/support/node)

# Debian/Ubuntu packages (name only; the distribution pins the version).
DEBIAN_PACKAGES="shellcheck bats git docker-registry apache2-utils buildah"
# ...plus those each part in install.d/ lists in its <part>.packages file (one a line, # comments).
for _packages in "$(dirname "${BASH_SOURCE[0]}")"/install.d/*.packages; do
	[ -e "$_packages" ] || continue
	DEBIAN_PACKAGES+=" $(sed 's/#.*//' "$_packages" | tr -s '[:space:]' ' ')"
done
unset _packages

# Tools whose failure to install is reported but does not fail install.sh, because no test needs them yet.
OPTIONAL_TOOLS=""
