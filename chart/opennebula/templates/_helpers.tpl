{{/* Names: <release>-<chart> truncated to 63 characters, or fullnameOverride. */}}
{{- define "opennebula.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "opennebula.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* StatefulSet names stay within 52 characters: the controller-revision-hash label adds 11. */}}
{{- define "opennebula.statefulSetName" -}}
{{- include "opennebula.fullname" . | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{/* A name derived from the full name with a suffix, kept within 63 characters. */}}
{{- define "opennebula.componentName" -}}
{{- $full := include "opennebula.fullname" .context -}}
{{- printf "%s-%s" ($full | trunc (int (sub 62 (len .suffix)))) .suffix | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of everything the chart makes, without a component. */}}
{{- define "opennebula.baseLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 }}
app.kubernetes.io/name: {{ include "opennebula.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: opennebula
{{- end -}}

{{- define "opennebula.labels" -}}
{{ include "opennebula.baseLabels" . }}
app.kubernetes.io/component: frontend
{{- end -}}

{{/* Kept minimal and stable: selectors are immutable on StatefulSets. */}}
{{- define "opennebula.selectorLabels" -}}
app.kubernetes.io/name: {{ include "opennebula.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: frontend
{{- end -}}

{{- define "opennebula.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The OpenNebula version the image carries (its tag, or appVersion when pinned by digest). */}}
{{- define "opennebula.version" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}{{- $tag = .Chart.AppVersion -}}{{- end -}}
{{- regexFind "^[0-9]+\\.[0-9]+\\.[0-9]+(\\.[0-9]+)?" $tag | default .Chart.AppVersion -}}
{{- end -}}

{{/* gRPC exists from OpenNebula 7.2. */}}
{{- define "opennebula.hasGrpc" -}}
{{- if semverCompare ">=7.2.0-0" (regexFind "^[0-9]+\\.[0-9]+\\.[0-9]+" (include "opennebula.version" .)) -}}true{{- end -}}
{{- end -}}

{{- define "opennebula.headlessName" -}}
{{- include "opennebula.componentName" (dict "context" . "suffix" "headless") -}}
{{- end -}}

{{- define "opennebula.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "opennebula.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The front-end's stable host name: the pod's FQDN through the headless Service. */}}
{{- define "opennebula.hostname" -}}
{{- if .Values.opennebula.hostname -}}
{{- .Values.opennebula.hostname -}}
{{- else -}}
{{- printf "%s-0.%s.%s.svc.%s" (include "opennebula.statefulSetName" .) (include "opennebula.headlessName" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}
{{- end -}}

{{/* MariaDB's resources, named as the subchart names them. */}}
{{- define "opennebula.mariadb.fullname" -}}
{{- $db := .Values.mariadb -}}
{{- if $db.fullnameOverride -}}
{{- $db.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains "mariadb" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-mariadb" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Database connection: the bundled MariaDB or externalDatabase; fails clearly when neither is set. */}}
{{- define "opennebula.db.host" -}}
{{- if .Values.mariadb.enabled -}}
{{- printf "%s.%s.svc.%s" (include "opennebula.mariadb.fullname" .) .Release.Namespace .Values.clusterDomain -}}
{{- else if .Values.externalDatabase.host -}}
{{- .Values.externalDatabase.host -}}
{{- else -}}
{{- fail "no database: set mariadb.enabled=true for the bundled MariaDB, or externalDatabase.host and externalDatabase.existingSecret for your own" -}}
{{- end -}}
{{- end -}}

{{- define "opennebula.db.port" -}}
{{- if .Values.mariadb.enabled -}}3306{{- else -}}{{- .Values.externalDatabase.port -}}{{- end -}}
{{- end -}}

{{- define "opennebula.db.name" -}}
{{- if .Values.mariadb.enabled -}}{{- .Values.mariadb.database -}}{{- else -}}{{- .Values.externalDatabase.name -}}{{- end -}}
{{- end -}}

{{- define "opennebula.db.user" -}}
{{- if .Values.mariadb.enabled -}}{{- .Values.mariadb.username -}}{{- else -}}{{- .Values.externalDatabase.user -}}{{- end -}}
{{- end -}}

{{- define "opennebula.db.secretName" -}}
{{- if .Values.mariadb.enabled -}}
{{- default (include "opennebula.mariadb.fullname" .) .Values.mariadb.existingSecret -}}
{{- else if .Values.externalDatabase.existingSecret -}}
{{- .Values.externalDatabase.existingSecret -}}
{{- else -}}
{{- fail "externalDatabase.existingSecret is required with an external database: a Secret holding the database user's password" -}}
{{- end -}}
{{- end -}}

{{- define "opennebula.db.secretKey" -}}
{{- if .Values.mariadb.enabled -}}password{{- else -}}{{- .Values.externalDatabase.passwordKey -}}{{- end -}}
{{- end -}}

{{- define "opennebula.oneadmin.secretName" -}}
{{- default (include "opennebula.componentName" (dict "context" . "suffix" "oneadmin")) .Values.opennebula.oneadmin.existingSecret -}}
{{- end -}}

{{- define "opennebula.ssh.secretName" -}}
{{- default (include "opennebula.componentName" (dict "context" . "suffix" "ssh")) .Values.opennebula.ssh.existingSecret -}}
{{- end -}}

{{/*
A secret value kept across upgrades: the live Secret's (lookup) if there is one, else `generate`.
`helm template` and GitOps renderers cannot look up, so they produce a new value on every render.
*/}}
{{- define "opennebula.keptSecret" -}}
{{- $secret := lookup "v1" "Secret" .context.Release.Namespace .name -}}
{{- if and $secret $secret.data (hasKey $secret.data .key) -}}
{{- index $secret.data .key | b64dec -}}
{{- else -}}
{{- .generate -}}
{{- end -}}
{{- end -}}

{{/* Environment every OpenNebula container gets (the image's settings, see docker/README.md). */}}
{{- define "opennebula.env" -}}
- name: HOSTNAME
  value: {{ include "opennebula.hostname" . | quote }}
- name: DB_BACKEND
  value: mysql
- name: DB_HOST
  value: {{ include "opennebula.db.host" . | quote }}
- name: DB_PORT
  value: {{ include "opennebula.db.port" . | quote }}
- name: DB_NAME
  value: {{ include "opennebula.db.name" . | quote }}
- name: DB_USER
  value: {{ include "opennebula.db.user" . | quote }}
- name: DB_PASSWORD_FILE
  value: /run/secrets/opennebula-db/password
- name: ONE_LOG_LEVEL
  value: {{ .Values.opennebula.logLevel | quote }}
- name: MONITOR_ADDRESS
  value: {{ default "auto" .Values.opennebula.monitord.address | quote }}
- name: MONITOR_PORT
  value: {{ .Values.services.monitord.port | quote }}
{{- with .Values.opennebula.onegate.endpoint }}
- name: ONEGATE_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- if .Values.opennebula.tproxy.enabled }}
- name: TPROXY_REMOTE_ADDR
  value: {{ required "opennebula.tproxy.remoteAddress is required when opennebula.tproxy.enabled is true" .Values.opennebula.tproxy.remoteAddress | quote }}
- name: TPROXY_REMOTE_PORT
  value: {{ .Values.opennebula.tproxy.remotePort | quote }}
- name: TPROXY_SERVICE_PORT
  value: {{ .Values.opennebula.tproxy.servicePort | quote }}
{{- with .Values.opennebula.tproxy.networks }}
- name: TPROXY_NETWORKS
  value: {{ join "," . | quote }}
{{- end }}
{{- end }}
- name: SSHD_PORT
  value: {{ .Values.opennebula.ssh.port | quote }}
- name: ONE_SSH_KEY_DIR
  value: /run/secrets/opennebula-ssh
{{- with .Values.opennebula.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Mounts every OpenNebula container shares. */}}
{{- define "opennebula.volumeMounts" -}}
- name: data
  mountPath: /var/lib/one
- name: run
  mountPath: /run/one
- name: db-password
  mountPath: /run/secrets/opennebula-db
  readOnly: true
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}
