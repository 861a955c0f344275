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

{{/*
The databases of the members, checked: the bundled MariaDB runs replicaCount servers (front-end i uses
server i through MariaDB's headless Service), or externalDatabase.hosts lists one host per front-end.
HA_DB_HOSTS: NAME=DBHOST for each member, in HA_PEERS' order.
*/}}
{{- define "opennebula.ha.check" -}}
{{- $n := int (include "opennebula.ha.replicas" .) -}}
{{- if and (gt $n 1) (semverCompare "<1.30.0-0" .Capabilities.KubeVersion.Version) -}}
{{- fail (printf "replicaCount=%d needs Kubernetes 1.30 or later (this is %s): the leader label's ServiceAccount may patch the members' pods, and only a ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, 1.30+) narrows that to the one label" $n .Capabilities.KubeVersion.Version) -}}
{{- end -}}
{{- $hosts := .Values.externalDatabase.hosts | default list -}}
{{- if and (gt $n 1) .Values.restore.enabled -}}
{{- fail (printf "restore.enabled with replicaCount=%d: the restore Job writes one database, and each member has its own (Raft's logs in them would disagree). Go back to one front-end first, restore it, then from one front-end to three again (README \"High availability\", Recovery)" $n) -}}
{{- end -}}
{{- if and (gt $n 1) (eq .Values.hypervisors.exposure "HostNetwork") -}}
{{- fail (printf "hypervisors.exposure=HostNetwork with replicaCount=%d: each member listens on its own node's address and hypervisors.address names one, so the hypervisors would lose monitord whenever another member leads. Use LoadBalancer or NodePort: the hypervisors Service follows the leader" $n) -}}
{{- end -}}
{{- if .Values.mariadb.enabled -}}
{{- if ne (int .Values.mariadb.replicaCount) $n -}}
{{- fail (printf "mariadb.replicaCount=%d must equal replicaCount=%d: each front-end has its own MariaDB server (front-end N uses server N), so set both to %d" (int .Values.mariadb.replicaCount) $n $n) -}}
{{- end -}}
{{- else if eq $n 1 -}}
{{- if $hosts -}}
{{- fail "externalDatabase.hosts is for replicaCount 3 or 5 (one database per front-end); a single front-end uses externalDatabase.host" -}}
{{- end -}}
{{- else if ne (len $hosts) $n -}}
{{- fail (printf "externalDatabase.hosts has %d entries; replicaCount=%d needs exactly %d, one database server per front-end in pod order (externalDatabase.host is not used in HA)" (len $hosts) $n $n) -}}
{{- end -}}
{{- end -}}

{{- define "opennebula.ha.dbHosts" -}}
{{- $sts := include "opennebula.statefulSetName" . -}}
{{- $hosts := list -}}
{{- range $i := until (int (include "opennebula.ha.replicas" .)) -}}
{{- if $.Values.mariadb.enabled -}}
{{- $db := include "opennebula.mariadb.fullname" $ -}}
{{- $hosts = append $hosts (printf "%s-%d=%s-%d.%s.%s.svc.%s" $sts $i ($db | trunc 52 | trimSuffix "-") $i (printf "%s-headless" ($db | trunc 54 | trimSuffix "-")) $.Release.Namespace $.Values.clusterDomain) -}}
{{- else -}}
{{- $hosts = append $hosts (printf "%s-%d=%s" $sts $i (index $.Values.externalDatabase.hosts $i)) -}}
{{- end -}}
{{- end -}}
{{- join " " $hosts -}}
{{- end -}}

{{/*
The HA environment of every OpenNebula container (before HOSTNAME, which names the member's own pod):
its name (the pod's), the members and their databases. None for a single front-end.
*/}}
{{- define "opennebula.ha.env" -}}
{{- if include "opennebula.ha.enabled" . -}}
- name: HA_SERVER_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: HA_PEERS
  value: {{ include "opennebula.ha.peers" . | quote }}
- name: HA_DB_HOSTS
  value: {{ include "opennebula.ha.dbHosts" . | quote }}
{{- end }}
{{- end -}}

{{/*
The pod's affinity: the affinity value, with the front-ends' anti-affinity across nodes added in HA
(ha.podAntiAffinity) unless the value has its own podAntiAffinity.
*/}}
{{- define "opennebula.ha.affinity" -}}
{{- $affinity := deepCopy (.Values.affinity | default dict) -}}
{{- if and (include "opennebula.ha.enabled" .) (not (hasKey $affinity "podAntiAffinity")) -}}
{{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (include "opennebula.selectorLabels" . | fromYaml)) -}}
{{- if eq .Values.ha.podAntiAffinity "hard" -}}
{{- $_ := set $affinity "podAntiAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (list $term)) -}}
{{- else -}}
{{- $_ := set $affinity "podAntiAffinity" (dict "preferredDuringSchedulingIgnoredDuringExecution" (list (dict "weight" 100 "podAffinityTerm" $term))) -}}
{{- end -}}
{{- end -}}
{{- if $affinity }}{{ toYaml $affinity }}{{ end -}}
{{- end -}}

{{/*
oneadmin's SSH key: opennebula.ssh.existingSecret, else in HA the one the credentials Job generates (every
member must have the same key: the hypervisors authorize it, whichever member leads, and the members copy
the cluster's credentials from each other with it). Empty for a single front-end without a Secret (init
generates a key on the volume).
*/}}
{{- define "opennebula.ssh.secretName" -}}
{{- if .Values.opennebula.ssh.existingSecret -}}
{{- .Values.opennebula.ssh.existingSecret -}}
{{- else if include "opennebula.ha.enabled" . -}}
{{- include "opennebula.componentName" (dict "context" . "suffix" "ssh") -}}
{{- end -}}
{{- end -}}
