{{/*
Scaling and disruption objects for one Deployment. Each takes dict:
  root       the chart's root context
  name       the Deployment's name (also the object's)
  component  the Deployment's component label (selects its pods)
  namespace  optional: the Deployment's namespace when it is not the release's
  cfg        the component's autoscaling / podDisruptionBudget block
*/}}

{{/* A CPU HorizontalPodAutoscaler (autoscaling/v2); the Deployment then leaves out `replicas`. */}}
{{- define "slate.hpa" -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ .name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "slate.labels" (dict "root" .root "component" .component) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ .name }}
  minReplicas: {{ .cfg.minReplicas }}
  maxReplicas: {{ .cfg.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .cfg.targetCPUUtilizationPercentage }}
  {{- with .cfg.behavior }}
  behavior:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/*
A PodDisruptionBudget: minAvailable when set, else maxUnavailable (default 1, which never blocks a node
drain of a one-replica Deployment the way minAvailable: 1 would).
*/}}
{{- define "slate.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "slate.labels" (dict "root" .root "component" .component) | nindent 4 }}
spec:
  {{- if .cfg.minAvailable }}
  minAvailable: {{ .cfg.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .cfg.maxUnavailable | default 1 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "slate.selectorLabels" (dict "root" .root "component" .component) | nindent 6 }}
{{- end -}}
