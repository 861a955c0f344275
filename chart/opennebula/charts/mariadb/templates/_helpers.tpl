{{/*
Full name of MariaDB's resources: <release>-mariadb, or fullnameOverride. The parent chart computes the same
name (opennebula.mariadb.fullname) to find the Service and the Secret.
*/}}
{{- define "mariadb.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains "mariadb" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-mariadb" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* StatefulSet names stay within 52 characters: the controller-revision-hash label adds 11. */}}
{{- define "mariadb.statefulSetName" -}}
{{- include "mariadb.fullname" . | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "mariadb.headlessName" -}}
{{- printf "%s-headless" (include "mariadb.fullname" . | trunc 54 | trimSuffix "-") -}}
{{- end -}}

{{- define "mariadb.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "mariadb.podLabels" . }}
{{- end -}}

{{/* Pod template labels: no chart version, so that a chart bump alone restarts nothing. */}}
{{- define "mariadb.podLabels" -}}
{{ include "mariadb.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: opennebula
{{- end -}}

{{- define "mariadb.selectorLabels" -}}
app.kubernetes.io/name: mariadb
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: database
{{- end -}}

{{/*
The Secret holding the passwords: existingSecret, else the one the parent chart's credentials Job makes
(named like the release's MariaDB, with `password` and `root-password`).
*/}}
{{- define "mariadb.secretName" -}}
{{- default (include "mariadb.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/* Pull secrets: an umbrella chart's global.imagePullSecrets, then mariadb.imagePullSecrets; `{name: x}` or `x`. */}}
{{- define "mariadb.imagePullSecrets" -}}
{{- $names := list -}}
{{- range concat (((.Values.global | default dict).imagePullSecrets) | default list) (.Values.imagePullSecrets | default list) -}}
{{- $name := . -}}
{{- if kindIs "map" . }}{{ $name = get . "name" }}{{ end -}}
{{- if not (has $name $names) -}}{{- $names = append $names $name -}}{{- end -}}
{{- end -}}
{{- if $names }}
imagePullSecrets:
{{- range $names }}
  - name: {{ . | quote }}
{{- end }}
{{- end -}}
{{- end -}}
