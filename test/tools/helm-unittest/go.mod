// Wrapper module: helm-unittest's own go.mod carries a replace directive, so `go install ...@version`
// refuses it. Building it from this module applies the same replacement and pins every dependency in go.sum.
module opennebula-kubernetes/tools/helm-unittest

go 1.26.0

replace github.com/vmware-labs/yaml-jsonpath v0.3.2 => github.com/helm-unittest/yaml-jsonpath v0.4.0

require github.com/helm-unittest/helm-unittest v1.1.2 // indirect
