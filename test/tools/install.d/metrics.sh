# shellcheck shell=bash
# Part of test/tools/install.sh: JSON schemas of the Prometheus Operator's monitoring.coreos.com resources
# (ServiceMonitor, PodMonitor, PrometheusRule) for kubeconform, generated offline from the CRDs in the
# github.com/prometheus-operator/prometheus-operator module (PROMETHEUS_OPERATOR_VERSION, verified by the Go
# checksum database) into the Kubernetes schema directories, as the Gateway API's are. Its Debian package
# (prometheus: promtool and a real Prometheus for test/metrics) is in metrics.packages.
: "${here:?sourced by test/tools/install.sh}" "${tools_dir:?sourced by test/tools/install.sh}"
install_monitoring_schemas() {
	local dir version kind out=$tools_dir/kubernetes-json-schema crds=()
	dir=$(module_dir "github.com/prometheus-operator/prometheus-operator@${1%% *}")
	for kind in servicemonitors podmonitors prometheusrules; do
		crds+=("$dir/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml")
	done
	for version in $KUBERNETES_SCHEMA_VERSIONS; do
		node "$here/k8s-schemas.mjs" --crd "$out/$version-standalone-strict" --strict "${crds[@]}"
		node "$here/k8s-schemas.mjs" --crd "$out/$version-standalone" "${crds[@]}"
	done
	# The CRDs themselves, for the test clusters (test/support/cluster.ts).
	rm -rf "$tools_dir/monitoring-crds"
	mkdir -p "$tools_dir/monitoring-crds"
	cp "${crds[@]}" "$tools_dir/monitoring-crds/"
	chmod -R u+w "$tools_dir/monitoring-crds"
}
_monitoring_probe=$tools_dir/kubernetes-json-schema/${KUBERNETES_SCHEMA_VERSIONS##* }-standalone-strict/prometheusrule-monitoring-v1.json
install_step monitoring-schemas "$PROMETHEUS_OPERATOR_VERSION $KUBERNETES_SCHEMA_VERSIONS $(sha256sum "$here/k8s-schemas.mjs" "$here/install.d/metrics.sh" | sha256sum | cut -c1-16)" \
	install_monitoring_schemas "$_monitoring_probe"
unset _monitoring_probe
