{{- /*
Alerting rules of the PrometheusRule (templates/metrics-prometheusrule.yaml), rendered with tpl. Adapted
from OpenNebula's own (src/oneprometheus/prometheus/etc/rules.yml, 7.4) to Kubernetes: no node rules (the
cluster's monitoring covers nodes), the service rules on the exporter's state metrics, which the image
answers from the roles' checks (they read 0 under systemd-less containers otherwise), and what this chart
adds (the exporter, the front-end's readiness, backups, the database, HA). Pool metrics (hosts, VMs) come
from the exporter of every front-end pod: the rules take the maximum per object. test/metrics/rules.test.ts
runs `promtool test rules` on this file as the chart renders it.
*/ -}}
{{- $ns := .Release.Namespace -}}
{{- $job := include "opennebula.componentName" (dict "context" . "suffix" "metrics") -}}
{{- $exporter := printf "job=%q, namespace=%q" $job $ns -}}
{{- $for := .Values.metrics.prometheusRule.serviceDownFor -}}
groups:
  - name: opennebula.services
    rules:
      - alert: OpenNebulaExporterDown
        expr: up{ {{- $exporter -}} } == 0 or absent(up{ {{- $exporter -}} })
        for: 5m
        labels:
          severity: warning
        annotations:
          summary: OpenNebula's exporter is not scraped
          description: Prometheus has not scraped the exporter of {{ $ns }}/{{ include "opennebula.statefulSetName" . }} for 5 minutes; every other OpenNebula alert is blind meanwhile.
      {{- range $metric, $name := dict "oned" "Oned" "scheduler" "Scheduler" "flow" "OneFlow" "gate" "OneGate" "hem" "HookManager" "fireedge" "FireEdge" }}
      - alert: OpenNebula{{ $name }}Down
        expr: opennebula_{{ $metric }}_state{ {{- $exporter -}} } == 0
        for: {{ $for }}
        labels:
          severity: critical
        annotations:
          summary: OpenNebula {{ $name }} is down
          description: {{ printf "%s has been down in pod {{ $labels.pod }} for more than %s." $name $for | quote }}
      {{- end }}
  - name: opennebula.frontend
    rules:
      - alert: OpenNebulaFrontEndNotReady
        expr: kube_statefulset_status_replicas_ready{namespace="{{ $ns }}", statefulset="{{ include "opennebula.statefulSetName" . }}"} < kube_statefulset_replicas{namespace="{{ $ns }}", statefulset="{{ include "opennebula.statefulSetName" . }}"}
        for: 10m
        labels:
          severity: critical
        annotations:
          summary: The OpenNebula front-end is not Ready
          description: {{ printf "{{ $value }} of the replicas of StatefulSet %s/%s have been Ready for 10 minutes, fewer than wanted." $ns (include "opennebula.statefulSetName" .) | quote }}
      {{- if .Values.mariadb.enabled }}
      - alert: OpenNebulaDatabaseNotReady
        expr: kube_statefulset_status_replicas_ready{namespace="{{ $ns }}", statefulset="{{ include "opennebula.mariadb.fullname" . | trunc 52 | trimSuffix "-" }}"} < 1
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: The bundled MariaDB is not Ready
          description: {{ printf "StatefulSet %s/%s has had no Ready replica for 5 minutes: oned cannot reach its database." $ns (include "opennebula.mariadb.fullname" . | trunc 52 | trimSuffix "-") | quote }}
      {{- end }}
      {{- if .Values.metrics.mysqldExporter.enabled }}
      - alert: OpenNebulaDatabaseUnreachable
        expr: mysql_up{job="{{ include "opennebula.componentName" (dict "context" . "suffix" "mysqld-exporter") }}", namespace="{{ $ns }}"} == 0
        for: 2m
        labels:
          severity: critical
        annotations:
          summary: OpenNebula's database does not answer
          description: {{ printf "The mysqld exporter cannot connect to %s:%v as %s for 2 minutes." (include "opennebula.db.host" .) (include "opennebula.db.port" .) (include "opennebula.db.user" .) | quote }}
      {{- end }}
  - name: opennebula.hosts
    rules:
      - alert: OpenNebulaHostError
        # 3 ERROR, 5 MONITORING_ERROR (a host disabled or offline on purpose does not alert).
        expr: max by (one_host_id) (opennebula_host_state{ {{- $exporter -}} }) == 3 or max by (one_host_id) (opennebula_host_state{ {{- $exporter -}} }) == 5
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: An OpenNebula host is in ERROR
          description: {{ "Host {{ $labels.one_host_id }} has been in ERROR for 5 minutes: its monitoring fails (onehost show {{ $labels.one_host_id }})." | quote }}
  - name: opennebula.vms
    rules:
      - alert: OpenNebulaVMFailed
        # The LCM *_FAILURE states (36-42, 44, 46-50, 61), as OpenNebula's VMFailed rule lists them.
        expr: max by (one_vm_id) (opennebula_vm_lcm_state{ {{- $exporter -}} }) >= 36 <= 42 or max by (one_vm_id) (opennebula_vm_lcm_state{ {{- $exporter -}} }) == 44 or max by (one_vm_id) (opennebula_vm_lcm_state{ {{- $exporter -}} }) >= 46 <= 50 or max by (one_vm_id) (opennebula_vm_lcm_state{ {{- $exporter -}} }) == 61
        for: 1m
        labels:
          severity: critical
        annotations:
          summary: An OpenNebula VM is in a FAILURE state
          description: {{ "VM {{ $labels.one_vm_id }} has been in LCM state {{ $value }} (a *_FAILURE) for a minute (onevm show {{ $labels.one_vm_id }})." | quote }}
      - alert: OpenNebulaVMPending
        expr: max by (one_vm_id) (opennebula_vm_state{ {{- $exporter -}} }) == 1
        for: 15m
        labels:
          severity: warning
        annotations:
          summary: An OpenNebula VM stays PENDING
          description: {{ "VM {{ $labels.one_vm_id }} has been PENDING for 15 minutes: the scheduler finds no host for it (onevm show {{ $labels.one_vm_id }}, SCHED_MESSAGE)." | quote }}
  - name: opennebula.ha
    rules:
      - alert: OpenNebulaHANoLeader
        expr: max(opennebula_ha_members{ {{- $exporter -}} }) > 1 and sum(opennebula_ha_is_leader{ {{- $exporter -}} }) < 1
        for: 2m
        labels:
          severity: critical
        annotations:
          summary: The OpenNebula HA zone has no leader
          description: "No front-end of the HA zone has been RAFT leader for 2 minutes: the API refuses writes."
      - alert: OpenNebulaHAMemberError
        expr: max(opennebula_ha_error_members{ {{- $exporter -}} }) > 0
        for: 5m
        labels:
          severity: warning
        annotations:
          summary: An OpenNebula HA member is in error
          description: {{ "{{ $value }} HA member(s) have been in error or unreachable for 5 minutes (onezone show 0)." | quote }}
  {{- if .Values.backup.enabled }}
  {{- $cronjob := include "opennebula.componentName" (dict "context" . "suffix" "backup") }}
  - name: opennebula.backup
    rules:
      - alert: OpenNebulaBackupFailed
        expr: max by (job_name) (kube_job_status_failed{namespace="{{ $ns }}", job_name=~"{{ $cronjob }}-[0-9]+"}) > 0
        labels:
          severity: warning
        annotations:
          summary: An OpenNebula backup failed
          description: {{ printf "Backup Job {{ $labels.job_name }} of CronJob %s/%s failed (kubectl -n %s logs job/{{ $labels.job_name }})." $ns $cronjob $ns | quote }}
      - alert: OpenNebulaBackupStale
        expr: time() - max(kube_cronjob_status_last_successful_time{namespace="{{ $ns }}", cronjob="{{ $cronjob }}"}) > {{ .Values.metrics.prometheusRule.backupMaxAgeSeconds }} or absent(kube_cronjob_status_last_successful_time{namespace="{{ $ns }}", cronjob="{{ $cronjob }}"})
        for: 1h
        labels:
          severity: warning
        annotations:
          summary: No recent OpenNebula backup
          description: {{ printf "CronJob %s/%s has had no successful run for more than %v seconds." $ns $cronjob .Values.metrics.prometheusRule.backupMaxAgeSeconds | quote }}
  {{- end }}
  {{- with .Values.metrics.prometheusRule.rules }}
  - name: opennebula.additional
    rules:
      {{- tpl (toYaml .) $ | nindent 6 }}
  {{- end }}
