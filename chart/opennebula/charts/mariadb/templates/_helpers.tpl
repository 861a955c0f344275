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
The Secret holding the passwords: existingSecret, else ours.
*/}}
{{- define "mariadb.secretName" -}}
{{- default (include "mariadb.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/*
A password kept across upgrades: the value in the live Secret if there is one (lookup), else a new random
one. `helm template` and GitOps renderers cannot look up, so they generate a new one on every render.
*/}}
{{- define "mariadb.password" -}}
{{- $secret := lookup "v1" "Secret" .context.Release.Namespace (include "mariadb.fullname" .context) -}}
{{- if and $secret $secret.data (hasKey $secret.data .key) -}}
{{- index $secret.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum 32 -}}
{{- end -}}
{{- end -}}
