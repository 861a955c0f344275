{{/*
High availability (replicaCount 3 or 5): OpenNebula's Raft between the StatefulSet's pods, configured by the
image's ha.sh through HA_PEERS. These helpers and the ha-*.yaml templates render nothing for one replica.
*/}}
{{- define "opennebula.ha.replicas" -}}
{{- $n := int (.Values.replicaCount | default 1) -}}
{{- if not (has $n (list 1 3 5)) -}}
{{- fail (printf "replicaCount: %d is not supported: 1 (no HA), 3 or 5 (OpenNebula's Raft needs an odd number of front-ends: an even one tolerates no more failures than the odd number below it)" $n) -}}
{{- end -}}
{{- $n -}}
{{- end -}}

{{- define "opennebula.ha.enabled" -}}
{{- if gt (int (include "opennebula.ha.replicas" .)) 1 }}true{{ end -}}
{{- end -}}

{{/* The label the leader's reconcile loop keeps on its own pod (and the leader Service selects). */}}
{{- define "opennebula.ha.roleLabel" -}}opennebula.io/raft-role{{- end -}}

{{/* HA_PEERS: each pod's name and its FQDN through the headless Service (published before it is ready). */}}
{{- define "opennebula.ha.peers" -}}
{{- $sts := include "opennebula.statefulSetName" . -}}
{{- $svc := include "opennebula.headlessName" . -}}
{{- $peers := list -}}
{{- range $i := until (int (include "opennebula.ha.replicas" .)) -}}
{{- $peers = append $peers (printf "%s-%d=%s-%d.%s.%s.svc.%s" $sts $i $sts $i $svc $.Release.Namespace $.Values.clusterDomain) -}}
{{- end -}}
{{- join " " $peers -}}
{{- end -}}

{{/* The pods' names as a JSON list (RBAC resourceNames: the loop may patch these pods and no other). */}}
{{- define "opennebula.ha.podNames" -}}
{{- $sts := include "opennebula.statefulSetName" . -}}
{{- $names := list -}}
{{- range $i := until (int (include "opennebula.ha.replicas" .)) -}}
{{- $names = append $names (printf "%s-%d" $sts $i) -}}
{{- end -}}
{{- toJson $names -}}
{{- end -}}
