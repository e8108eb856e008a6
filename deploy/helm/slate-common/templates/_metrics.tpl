{{/*
Prometheus Operator scraping of the metrics port (`/metrics` without auth on SLATE_METRICS_PORT): a
headless Service over every pod of the release in one namespace, and a ServiceMonitor selecting it.
Pods also carry prometheus.io/* annotations ("slate.podAnnotations") for annotation-based scrapers.
Takes dict root, name, namespace (optional).
*/}}
{{- define "slate.metricsMonitor" -}}
{{- $m := .root.Values.metrics -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "slate.labels" (dict "root" .root "component" "metrics") | nindent 4 }}
spec:
  clusterIP: None
  selector:
    app.kubernetes.io/name: {{ .root.Chart.Name }}
    app.kubernetes.io/instance: {{ .root.Release.Name }}
  ports:
    - name: metrics
      port: {{ $m.port }}
      targetPort: metrics
      protocol: TCP
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ .name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "slate.labels" (dict "root" .root "component" "metrics") | nindent 4 }}
    {{- with $m.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "slate.selectorLabels" (dict "root" .root "component" "metrics") | nindent 6 }}
  endpoints:
    - port: metrics
      path: /metrics
      interval: {{ $m.serviceMonitor.interval }}
      scrapeTimeout: {{ $m.serviceMonitor.scrapeTimeout }}
{{- end -}}
