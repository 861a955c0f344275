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
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Labels of pod templates, without a component: no chart version, and the version of the image the pod runs,
so that a chart version bump alone changes no pod template and restarts nothing.
*/}}
{{- define "opennebula.podBaseLabels" -}}
app.kubernetes.io/name: {{ include "opennebula.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "opennebula.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: opennebula
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
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
{{- $repository := include "opennebula.imageRepository" (dict "repository" .Values.image.repository "global" .Values.global) -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
A repository pulled through global.imageRegistry when an umbrella chart sets it: the registry part
(docker.io in docker.io/library/mariadb) is replaced, or added to a repository without one. Used by the
MariaDB subchart too. Arguments: repository, global.
*/}}
{{- define "opennebula.imageRepository" -}}
{{- $registry := (.global | default dict).imageRegistry | default "" -}}
{{- if not $registry -}}
{{- .repository -}}
{{- else -}}
{{- $parts := splitList "/" .repository -}}
{{- $first := first $parts -}}
{{- if and (gt (len $parts) 1) (or (contains "." $first) (contains ":" $first) (eq $first "localhost")) -}}
{{- $parts = rest $parts -}}
{{- end -}}
{{- printf "%s/%s" (trimSuffix "/" $registry) (join "/" $parts) -}}
{{- end -}}
{{- end -}}

{{/* A claim's StorageClass: the chart's own value, else global.storageClass. Arguments: storageClass, global. */}}
{{- define "opennebula.storageClass" -}}
{{- with .storageClass | default ((.global | default dict).storageClass) -}}
storageClassName: {{ . | quote }}
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
{{- include "opennebula.versionAtLeast" (dict "context" . "version" "7.2.0") -}}
{{- end -}}

{{/* "true" when the image's OpenNebula is at least .version. Arguments: context, version. */}}
{{- define "opennebula.versionAtLeast" -}}
{{- if semverCompare (printf ">=%s-0" .version) (regexFind "^[0-9]+\\.[0-9]+\\.[0-9]+" (include "opennebula.version" .context)) -}}true{{- end -}}
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

{{/*
The front-end's name for oned's drivers (HOSTNAME): the hypervisor-facing address, else the pod's FQDN
through the headless Service (reachable in the cluster only).
*/}}
{{- define "opennebula.hostname" -}}
{{- if .Values.hypervisors.address -}}
{{- .Values.hypervisors.address -}}
{{- else if include "opennebula.ha.enabled" . -}}
{{- /* Each member's own pod (HA_SERVER_NAME, set before it). */ -}}
{{- printf "$(HA_SERVER_NAME).%s.%s.svc.%s" (include "opennebula.headlessName" .) .Release.Namespace .Values.clusterDomain -}}
{{- else -}}
{{- printf "%s-0.%s.%s.svc.%s" (include "opennebula.statefulSetName" .) (include "opennebula.headlessName" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}
{{- end -}}

{{/* The port monitord listens on and advertises (MONITOR_PORT): with NodePort, its node port. */}}
{{- define "opennebula.monitordPort" -}}
{{- $h := .Values.hypervisors -}}
{{- if eq $h.exposure "NodePort" -}}
{{- required "hypervisors.nodePorts.monitord is required with hypervisors.exposure=NodePort: monitord listens on the port it tells hypervisors to send to, so that port must be the node port (30000-32767)" $h.nodePorts.monitord -}}
{{- else -}}
{{- $h.monitordPort -}}
{{- end -}}
{{- end -}}

{{/* The port hypervisors SSH to at hypervisors.address. */}}
{{- define "opennebula.hypervisorSshPort" -}}
{{- $h := .Values.hypervisors -}}
{{- if eq $h.exposure "NodePort" -}}
{{- required "hypervisors.nodePorts.ssh is required with hypervisors.exposure=NodePort: hypervisors must be told the SSH port (a node port cannot be 22)" $h.nodePorts.ssh -}}
{{- else if eq $h.exposure "HostNetwork" -}}
{{- .Values.opennebula.ssh.port -}}
{{- else -}}
{{- $h.sshPort -}}
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
{{- else if .Values.externalDatabase.hosts -}}
{{- /* HA: the first member's database (the backups and the exporter read one copy). */ -}}
{{- first .Values.externalDatabase.hosts -}}
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


{{/*
The Secrets the credentials Job makes when they do not exist (JSON for GENERATED_SECRETS): the oneadmin
password, and the bundled MariaDB's passwords; none for those given as existingSecret.
*/}}
{{- define "opennebula.generatedSecrets" -}}
{{- /*
No app.kubernetes.io/instance: Argo CD's label tracking (its default before 3.0) would count the Secrets as
extraneous and prune them, and MariaDB keeps the first password in its data directory. The annotations
keep them out of Argo CD's and Flux's pruning in every tracking mode.
*/ -}}
{{- $labels := dict "app.kubernetes.io/name" (include "opennebula.name" .) "app.kubernetes.io/part-of" "opennebula" "opennebula.org/release" .Release.Name -}}
{{- $annotations := dict "argocd.argoproj.io/compare-options" "IgnoreExtraneous" "argocd.argoproj.io/sync-options" "Prune=false,Delete=false" "kustomize.toolkit.fluxcd.io/prune" "disabled" -}}
{{- $secrets := list -}}
{{- if not .Values.opennebula.oneadmin.existingSecret -}}
{{- $secrets = append $secrets (dict "name" (include "opennebula.oneadmin.secretName" .) "keys" (list .Values.opennebula.oneadmin.passwordKey) "labels" $labels "annotations" $annotations) -}}
{{- end -}}
{{- if and .Values.mariadb.enabled (not .Values.mariadb.existingSecret) -}}
{{- $secrets = append $secrets (dict "name" (include "opennebula.mariadb.fullname" .) "keys" (list "password" "root-password") "labels" $labels "annotations" $annotations) -}}
{{- end -}}
{{- if and .Values.opennebula.monitord.encryption.enabled (not .Values.opennebula.monitord.encryption.existingSecret) -}}
{{- $secrets = append $secrets (dict "name" (include "opennebula.monitord.secretName" .) "keys" (list "pubkey.pem" "prikey.pem") "type" "rsa" "labels" $labels "annotations" $annotations) -}}
{{- end -}}
{{- if and (include "opennebula.ha.enabled" .) (not .Values.opennebula.ssh.existingSecret) -}}
{{- /* HA: one SSH key for every member (the image derives the public key from id_rsa). */ -}}
{{- $secrets = append $secrets (dict "name" (include "opennebula.ssh.secretName" .) "keys" (list "public.pem" "id_rsa") "type" "rsa" "labels" $labels "annotations" $annotations) -}}
{{- end -}}
{{- toJson $secrets -}}
{{- end -}}

{{/* monitord's RSA key pair: monitord.encryption.existingSecret, else the one the credentials Job makes. */}}
{{- define "opennebula.monitord.secretName" -}}
{{- default (include "opennebula.componentName" (dict "context" . "suffix" "monitord")) .Values.opennebula.monitord.encryption.existingSecret -}}
{{- end -}}

{{/*
The key-level edits of /etc/one (JSON: path -> KEY -> VALUE): monitord's key files when encryption is on,
then opennebula.config (which may set those keys itself). A path or line the image could not read fails,
naming the value.
*/}}
{{- define "opennebula.configEdits" -}}
{{- $edits := dict -}}
{{- /* FireEdge keeps an upload whole in /var/tmp (the uploads volume): its largest upload is that volume's size. */ -}}
{{- $_ := set $edits "fireedge/sunstone/sunstone-server.conf" (dict "max_upload_file_size" (include "opennebula.uploadBytes" .)) -}}
{{- if .Values.opennebula.monitord.encryption.enabled -}}
{{- $_ := set $edits "monitord.conf" (dict "NETWORK/PUBKEY" "\"/run/secrets/opennebula-monitord/pubkey.pem\"" "NETWORK/PRIKEY" "\"/run/secrets/opennebula-monitord/prikey.pem\"") -}}
{{- end -}}
{{- range $path, $keys := .Values.opennebula.config -}}
{{- include "opennebula.checkEtcOnePath" (dict "path" $path "key" (printf "opennebula.config.%s" $path)) -}}
{{- $merged := merge (deepCopy ($keys | default dict)) (get $edits $path | default dict) -}}
{{- range $key, $value := $merged -}}
{{- if or (contains "\n" (toString $key)) (contains "\n" (toString $value)) (contains "=" (toString $key)) -}}
{{- fail (printf "opennebula.config.%s.%s: one edit per line, KEY = VALUE: no line break in the key or value, no = in the key" $path $key) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $edits $path $merged -}}
{{- end -}}
{{- toJson $edits -}}
{{- end -}}

{{/* A path relative to /etc/one that stays in it (the schema says the same; kept for values given to --set-json). */}}
{{- define "opennebula.checkEtcOnePath" -}}
{{- if not (regexMatch "^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$" .path) -}}
{{- fail (printf "%s: %q is not a file path relative to /etc/one (no leading /, no .. or dot-files)" .key .path) -}}
{{- end -}}
{{- end -}}

{{/* The ConfigMap key of an edits file (keys cannot hold "/"). */}}
{{- define "opennebula.editsKey" -}}
{{- printf "edits__%s" (replace "/" "__" .) -}}
{{- end -}}

{{/* The overrides volume (/etc/one-overrides): the edits ConfigMap and opennebula.configFiles; empty when neither. */}}
{{- define "opennebula.overridesVolume" -}}
{{- $edits := include "opennebula.configEdits" . | fromJson -}}
{{- $sources := list -}}
{{- if $edits -}}
{{- $items := list -}}
{{- range $path := keys $edits | sortAlpha -}}
{{- $items = append $items (dict "key" (include "opennebula.editsKey" $path) "path" (printf "edits/%s" $path)) -}}
{{- end -}}
{{- $sources = append $sources (dict "configMap" (dict "name" (include "opennebula.componentName" (dict "context" . "suffix" "overrides")) "items" $items)) -}}
{{- end -}}
{{- range $index, $file := .Values.opennebula.configFiles -}}
{{- $key := printf "opennebula.configFiles[%d]" $index -}}
{{- include "opennebula.checkEtcOnePath" (dict "path" (toString $file.path) "key" (printf "%s.path" $key)) -}}
{{- if eq (len (compact (list $file.configMap $file.secret))) 1 | not -}}
{{- fail (printf "%s: give exactly one of configMap and secret (the file's source)" $key) -}}
{{- end -}}
{{- $items := list (dict "key" (required (printf "%s.key is required" $key) $file.key) "path" (printf "files/%s" $file.path)) -}}
{{- if $file.configMap -}}
{{- $sources = append $sources (dict "configMap" (dict "name" $file.configMap "items" $items)) -}}
{{- else -}}
{{- $sources = append $sources (dict "secret" (dict "name" $file.secret "items" $items)) -}}
{{- end -}}
{{- end -}}
{{- if $sources -}}
{{- toYaml (list (dict "name" "overrides" "projected" (dict "defaultMode" 288 "sources" $sources))) -}}
{{- end -}}
{{- end -}}

{{/* Environment every OpenNebula container gets (the image's settings, see docker/README.md). */}}
{{- define "opennebula.env" -}}
{{ include "opennebula.ha.env" . }}{{ if include "opennebula.ha.enabled" . }}{{ "\n" }}{{ end -}}
- name: HOSTNAME
  value: {{ include "opennebula.hostname" . | quote }}
- name: DB_BACKEND
  value: mysql
{{- /* In HA each member's database host is its HA_DB_HOSTS entry. */}}
{{- if not (include "opennebula.ha.enabled" .) }}
- name: DB_HOST
  value: {{ include "opennebula.db.host" . | quote }}
{{- end }}
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
  value: {{ default "auto" .Values.hypervisors.address | quote }}
- name: MONITOR_PORT
  value: {{ include "opennebula.monitordPort" . | quote }}
{{- with include "opennebula.onegateEndpoint" . }}
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
{{- include "opennebula.timezoneEnv" . }}
- name: SSHD_PORT
  value: {{ .Values.opennebula.ssh.port | quote }}
# The drivers SSH to HOSTNAME when they work on the front-end itself: its sshd is on the pod's loopback.
- name: FRONTEND_SSH_ADDRESS
  value: 127.0.0.1
- name: ONE_SSH_KEY_DIR
  value: /run/secrets/opennebula-ssh
{{- with .Values.opennebula.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Mounts every OpenNebula container shares (the root file system is read-only: see the volumes). */}}
{{- define "opennebula.volumeMounts" -}}
- name: data
  mountPath: /var/lib/one
- name: run
  mountPath: /run/one
- name: etc-one
  mountPath: /etc/one
- name: sshd-config
  mountPath: /etc/ssh/sshd_config.d
- name: logs
  mountPath: /var/log/one
- name: lock
  mountPath: /var/lock/one
- name: tmp
  mountPath: /tmp
- name: db-password
  mountPath: /run/secrets/opennebula-db
  readOnly: true
{{- if include "opennebula.overridesVolume" . }}
# The image's overrides (opennebula.config, opennebula.configFiles, monitord's keys): the configure step
# applies them to /etc/one.
- name: overrides
  mountPath: /etc/one-overrides
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* A Kubernetes quantity (1.5Gi, 1536Mi, 2G, 500k) in bytes, so sizes compare as the API server stores them. */}}
{{- define "opennebula.quantityBytes" -}}
{{- $quantity := toString . -}}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" $quantity -}}
{{- $suffix := trimPrefix $number $quantity -}}
{{- $factors := dict "m" 1e-3 "" 1.0 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 -}}
{{- if or (not $number) (not (hasKey $factors $suffix)) -}}
{{- fail (printf "%q is not a storage quantity Kubernetes accepts (e.g. 20Gi, 1536Mi, 500G)" $quantity) -}}
{{- end -}}
{{- /* Whole bytes: 1.3Gi and the API server's 1395864371200m are the same size. */ -}}
{{- round (mulf (float64 $number) (index $factors $suffix)) 0 -}}
{{- end -}}

{{/*
volumeClaimTemplates cannot change on a live StatefulSet: say so, and how to resize, before Kubernetes
refuses. Sizes compare as quantities: the API server keeps 1.5Gi as 1536Mi and 1024Mi as 1Gi.
Arguments: context, statefulSet (its name), value (the size asked for), key (its values path).
*/}}
{{- define "opennebula.storageGuard" -}}
{{- $live := lookup "apps/v1" "StatefulSet" .context.Release.Namespace .statefulSet -}}
{{- range ($live | default dict | dig "spec" "volumeClaimTemplates" list) -}}
{{- if eq .metadata.name "data" -}}
{{- $stored := toString .spec.resources.requests.storage -}}
{{- if ne (include "opennebula.quantityBytes" $stored) (include "opennebula.quantityBytes" $.value) -}}
{{- fail (printf `%s cannot change from %s to %s on an installed release: a StatefulSet's volumeClaimTemplates are immutable. Resize the claim instead (kubectl -n %s patch pvc data-%s-0 -p '{"spec":{"resources":{"requests":{"storage":"%s"}}}}', if its StorageClass allows expansion) and keep %s at %s.` $.key $stored (toString $.value) $.context.Release.Namespace $.statefulSet (toString $.value) $.key $stored) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Parallel, unless the installed StatefulSet has another policy: the field is immutable, so an upgrade keeps
what is there instead of failing (NOTES gives the migration).
*/}}
{{- define "opennebula.podManagementPolicy" -}}
{{- $live := lookup "apps/v1" "StatefulSet" .Release.Namespace (include "opennebula.statefulSetName" .) -}}
{{- $live | default dict | dig "spec" "podManagementPolicy" "Parallel" -}}
{{- end -}}

{{/* Pull secrets: an umbrella chart's global.imagePullSecrets, then the chart's own; `{name: x}` or `x`. */}}
{{- define "opennebula.imagePullSecrets" -}}
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

{{/* The backup claim: backup.persistence.existingClaim, else the one the chart makes. */}}
{{- define "opennebula.backupClaim" -}}
{{- default (include "opennebula.componentName" (dict "context" . "suffix" "backup")) .Values.backup.persistence.existingClaim -}}
{{- end -}}

{{/* Environment of the backup and restore scripts (files/backup.sh, files/restore.sh). */}}
{{- define "opennebula.backupEnv" -}}
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
{{- include "opennebula.timezoneEnv" . }}
- name: BACKUP_DIR
  value: /backups
- name: ONE_DIR
  value: {{ ternary "/var/lib/one" "" .Values.persistence.enabled | quote }}
{{- end -}}

{{/* The front-end's data claim, for the backup and restore pods. */}}
{{- define "opennebula.dataClaim" -}}
{{- default (printf "data-%s-0" (include "opennebula.statefulSetName" .)) .Values.persistence.existingClaim -}}
{{- end -}}

{{/* The restore Job's name: one per backup, as a Job's pod template cannot change; no dots (its pods' host names). */}}
{{- define "opennebula.restoreJobName" -}}
{{- include "opennebula.componentName" (dict "context" . "suffix" (printf "restore-%s" (trimPrefix "opennebula-" .Values.restore.backup | lower | replace "." "-"))) -}}
{{- end -}}

{{/*
"true" when podDisruptionBudget.maxUnavailable stops the single front-end pod's eviction (0 or "0%"), else
"false"; anything that is neither a count nor a percentage fails, naming the value.
*/}}
{{- define "opennebula.pdbBlocks" -}}
{{- $value := toString .Values.podDisruptionBudget.maxUnavailable -}}
{{- if not (regexMatch "^[0-9]+%?$" $value) -}}
{{- fail (printf "podDisruptionBudget.maxUnavailable: %q is neither a count (0) nor a percentage (0%%)" $value) -}}
{{- end -}}
{{- ternary "true" "false" (regexMatch "^0+%?$" $value) -}}
{{- end -}}


{{/* TZ from the timezone value (none when empty: UTC). */}}
{{- define "opennebula.timezoneEnv" -}}
{{- with .Values.timezone }}
- name: TZ
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* uploads.sizeLimit in whole bytes (an integer, as FireEdge's max_upload_file_size takes it). */}}
{{- define "opennebula.uploadBytes" -}}
{{- printf "%d" (int64 (float64 (include "opennebula.quantityBytes" .Values.uploads.sizeLimit))) -}}
{{- end -}}

{{/*
The Ingress body size: ingress.proxyBodySize, or uploads.sizeLimit (in nginx's megabytes); one larger than
the uploads volume fails, naming both.
*/}}
{{- define "opennebula.ingressBodySize" -}}
{{- $uploads := float64 (include "opennebula.uploadBytes" .) -}}
{{- with .Values.ingress.proxyBodySize -}}
{{- $number := float64 (regexFind "^[0-9]+" .) -}}
{{- $factor := get (dict "" 1.0 "k" 1024.0 "m" 1048576.0 "g" 1073741824.0) (lower (trimPrefix (regexFind "^[0-9]+" .) .)) -}}
{{- if gt (mulf $number $factor) $uploads -}}
{{- fail (printf "ingress.proxyBodySize=%s is larger than uploads.sizeLimit=%s: FireEdge keeps an upload whole in the uploads volume, so a larger body would be refused after it was sent. Raise uploads.sizeLimit, or leave ingress.proxyBodySize empty (it follows uploads.sizeLimit)." . (toString $.Values.uploads.sizeLimit)) -}}
{{- end -}}
{{- . -}}
{{- else -}}
{{- printf "%dm" (int64 (ceil (divf $uploads 1048576.0))) -}}
{{- end -}}
{{- end -}}

{{/*
A role's resources with the ephemeral-storage request its scratch volumes may fill: the value's own when it
is at least that (else a failure naming both), else that size. Arguments: context, role, storage (bytes),
storageFrom (the values that size it).
*/}}
{{- define "opennebula.resourcesWithStorage" -}}
{{- $resources := deepCopy (index .context.Values.resources .role | default dict) -}}
{{- $requests := $resources.requests | default dict -}}
{{- $given := get $requests "ephemeral-storage" -}}
{{- if $given -}}
{{- if lt (float64 (include "opennebula.quantityBytes" $given)) (float64 .storage) -}}
{{- fail (printf "resources.%s.requests.ephemeral-storage=%s is less than its scratch volumes may hold (%s): the scheduler would place the pod where they cannot fit. Leave it unset (the chart requests that much) or raise it." .role (toString $given) .storageFrom) -}}
{{- end -}}
{{- else -}}
{{- $_ := set $requests "ephemeral-storage" (printf "%dMi" (int64 (ceil (divf (float64 .storage) 1048576.0)))) -}}
{{- end -}}
{{- $_ := set $resources "requests" $requests -}}
{{- toYaml $resources -}}
{{- end -}}

{{/* The OneGate endpoint VMs are told: opennebula.onegate.endpoint, else the OneGate Ingress's URL, else none. */}}
{{- define "opennebula.onegateEndpoint" -}}
{{- $ingress := .Values.services.onegate.ingress -}}
{{- if .Values.opennebula.onegate.endpoint -}}
{{- .Values.opennebula.onegate.endpoint -}}
{{- else if $ingress.enabled -}}
{{- printf "%s://%s" (ternary "https" "http" (not (empty $ingress.tls))) (required "services.onegate.ingress.host is required when services.onegate.ingress.enabled is true: the host name VMs call OneGate at" $ingress.host) -}}
{{- end -}}
{{- end -}}

{{/* The front-end pods' selector labels as a label selector (k=v,...), for the API. */}}
{{- define "opennebula.labelSelector" -}}
{{- $pairs := list -}}
{{- range $key, $value := include "opennebula.selectorLabels" . | fromYaml -}}
{{- $pairs = append $pairs (printf "%s=%s" $key $value) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/* backup.s3: the client (files/s3.rb, as S3_CLIENT) and the settings, for the backup and restore scripts. */}}
{{- define "opennebula.s3Script" -}}
{{- if .Values.backup.s3.enabled -}}
S3_CLIENT="$(cat <<'S3_RB'
{{ .Files.Get "files/s3.rb" }}
S3_RB
)"
{{- end -}}
{{- end -}}

{{- define "opennebula.s3Env" -}}
{{- $s3 := .Values.backup.s3 -}}
{{- if $s3.enabled }}
- name: S3_ENDPOINT
  value: {{ required "backup.s3.endpoint is required with backup.s3.enabled: the S3 server's URL" $s3.endpoint | quote }}
- name: S3_REGION
  value: {{ $s3.region | quote }}
- name: S3_BUCKET
  value: {{ required "backup.s3.bucket is required with backup.s3.enabled" $s3.bucket | quote }}
- name: S3_PREFIX
  value: {{ $s3.prefix | quote }}
- name: S3_ACCESS_KEY_ID_FILE
  value: /run/secrets/opennebula-s3/access-key-id
- name: S3_SECRET_ACCESS_KEY_FILE
  value: /run/secrets/opennebula-s3/secret-access-key
{{- /* S3's limits: a single PUT up to 5 GiB, parts of 5 MiB to 5 GiB. */}}
{{- $threshold := int64 (float64 (include "opennebula.quantityBytes" $s3.multipartThreshold)) }}
{{- $part := int64 (float64 (include "opennebula.quantityBytes" $s3.partSize)) }}
{{- if or (lt $threshold 1) (gt $threshold 5368709120) }}
{{- fail (printf "backup.s3.multipartThreshold: %v is above 5Gi (or 0): S3 refuses a single PUT over 5 GiB (EntityTooLarge)" $s3.multipartThreshold) }}
{{- end }}
{{- if or (lt $part 5242880) (gt $part 5368709120) }}
{{- fail (printf "backup.s3.partSize: %v is outside 5Mi..5Gi, the part sizes S3 accepts (EntityTooSmall below 5 MiB)" $s3.partSize) }}
{{- end }}
- name: S3_MULTIPART_THRESHOLD
  value: {{ $threshold | quote }}
- name: S3_PART_SIZE
  value: {{ $part | quote }}
{{- end }}
{{- end -}}

{{- define "opennebula.s3Volume" -}}
{{- $s3 := .Values.backup.s3 -}}
{{- if $s3.enabled }}
- name: s3-key
  secret:
    secretName: {{ required "backup.s3.existingSecret is required with backup.s3.enabled: a Secret with the access key" $s3.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ $s3.accessKeyIdKey }}
        path: access-key-id
      - key: {{ $s3.secretAccessKeyKey }}
        path: secret-access-key
{{- end }}
{{- end -}}

{{- define "opennebula.s3Mount" -}}
{{- if .Values.backup.s3.enabled }}
- name: s3-key
  mountPath: /run/secrets/opennebula-s3
  readOnly: true
{{- end }}
{{- end -}}
