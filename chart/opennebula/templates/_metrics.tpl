{{/* Metrics (metrics.*): the names and the exporter container the metrics-*.yaml templates share. */}}
{{- define "opennebula.metrics.serviceName" -}}
{{- include "opennebula.componentName" (dict "context" . "suffix" "metrics") -}}
{{- end -}}

{{- define "opennebula.metrics.labels" -}}
{{ include "opennebula.baseLabels" . }}
app.kubernetes.io/component: metrics
{{- end -}}

{{/*
The exporter container of the front-end pod (metrics.enabled): OpenNebula's own exporter (the image's
exporter role) on 9925, against this pod's oned with oneadmin's credentials from the volume
(/var/lib/one/.one/one_auth); its service states come from the roles' checks over the pod's loopback.
*/}}
{{- define "opennebula.metrics.container" -}}
- name: exporter
  image: {{ include "opennebula.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args: ["exporter"]
  env:
    - name: ONED_ENDPOINT
      value: http://localhost:2633/RPC2
  ports:
    - name: metrics
      containerPort: 9925
      protocol: TCP
  readinessProbe:
    exec:
      command: ["/usr/local/bin/opennebula-entrypoint", "probe", "exporter"]
    periodSeconds: {{ .Values.probes.periodSeconds }}
    timeoutSeconds: {{ .Values.probes.timeoutSeconds }}
  livenessProbe:
    exec:
      command: ["/usr/local/bin/opennebula-entrypoint", "probe", "exporter"]
    periodSeconds: {{ .Values.probes.periodSeconds }}
    timeoutSeconds: {{ .Values.probes.timeoutSeconds }}
    failureThreshold: 6
  resources:
    {{- toYaml .Values.metrics.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  volumeMounts:
    {{- include "opennebula.volumeMounts" . | nindent 4 }}
{{- end -}}
