{{/*
Pod-level pieces shared by every Slate Deployment. Each takes dict "root" $ "cfg" <the component's
values block>; a component's own nodeSelector / tolerations / affinity / topologySpreadConstraints /
priorityClassName win over the chart-wide ones.
*/}}

{{- define "slate.podScheduling" -}}
{{- $v := .root.Values -}}
{{- with (default $v.nodeSelector .cfg.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default $v.tolerations .cfg.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default $v.affinity .cfg.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default $v.topologySpreadConstraints .cfg.topologySpreadConstraints) }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (default $v.priorityClassName .cfg.priorityClassName) }}
priorityClassName: {{ . }}
{{- end }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* The pod annotations: chart-wide, the component's, and Prometheus's scrape hints when metrics are on. */}}
{{- define "slate.podAnnotations" -}}
{{- $v := .root.Values -}}
{{- $a := merge (dict) (default (dict) .cfg.podAnnotations) (default (dict) $v.podAnnotations) -}}
{{- if $v.metrics.enabled -}}
{{- $_ := set $a "prometheus.io/scrape" "true" -}}
{{- $_ := set $a "prometheus.io/port" (toString $v.metrics.port) -}}
{{- $_ := set $a "prometheus.io/path" "/metrics" -}}
{{- end -}}
{{- with .extra }}{{ $a = merge $a . }}{{ end -}}
{{- toYaml $a -}}
{{- end -}}

{{/* Metrics for Prometheus (brief convention): SLATE_METRICS_PORT, `0` turning the listener off. */}}
{{- define "slate.metricsEnv" -}}
- name: SLATE_METRICS_PORT
  value: {{ ternary (toString .Values.metrics.port) "0" (.Values.metrics.enabled | default false) | quote }}
{{- end -}}

{{/* The container's ports: `http` (when port is given) and `metrics` (when on). dict root port. */}}
{{- define "slate.containerPorts" -}}
{{- if or .port .grpcPort .root.Values.metrics.enabled }}
ports:
  {{- with .port }}
  - name: http
    containerPort: {{ . }}
    protocol: TCP
  {{- end }}
  {{- with .grpcPort }}
  - name: grpc
    containerPort: {{ . }}
    protocol: TCP
  {{- end }}
  {{- if .root.Values.metrics.enabled }}
  - name: metrics
    containerPort: {{ .root.Values.metrics.port }}
    protocol: TCP
  {{- end }}
{{- end }}
{{- end -}}

{{/*
The writable places of a read-only root filesystem: /tmp (resolver workers, Node's temp files) and,
when `stateDir` is given, the process's state (bundle cache, offline staging).
*/}}
{{- define "slate.scratchMounts" -}}
- name: tmp
  mountPath: /tmp
{{- with .stateDir }}
- name: state
  mountPath: {{ . }}
{{- end }}
{{- end -}}

{{- define "slate.scratchVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .root.Values.scratch.tmpSizeLimit }}
{{- if .stateDir }}
- name: state
  emptyDir:
    sizeLimit: {{ .root.Values.scratch.stateSizeLimit }}
{{- end }}
{{- end -}}

{{/* The guide's buckets (packages/stores/src/object/object-store-config.ts objectStoreConfigFromEnv). */}}
{{- define "slate.objectStoreEnv" -}}
{{- $o := .Values.objectStore -}}
- name: SLATE_S3_BUCKET_PREFIX
  value: {{ $o.bucketPrefix | quote }}
- name: SLATE_S3_REGION
  value: {{ $o.region | quote }}
{{- with $o.endpoint }}
- name: SLATE_S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: SLATE_S3_FORCE_PATH_STYLE
  value: {{ $o.forcePathStyle | toString | quote }}
{{- end -}}

{{/* AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the AWS SDK's default chain, when a Secret is named. */}}
{{- define "slate.objectStoreEnvFrom" -}}
{{- with .Values.objectStore.credentialsSecret -}}
envFrom:
  - secretRef:
      name: {{ . }}
{{- end -}}
{{- end -}}
