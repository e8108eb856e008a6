{{- define "slate.fullname" -}}
{{- printf "%s-slate" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{- define "slate.labels" -}}
app.kubernetes.io/name: slate
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "slate.image" -}}
{{- printf "%s:%s" .Values.slate.image.repository (default .Chart.AppVersion .Values.slate.image.tag) -}}
{{- end -}}

{{/* The public API URL: slate.metadata.apiHost, else the guide's chalk.metadata.api_host. Required. */}}
{{- define "slate.apiHost" -}}
{{- $host := default .Values.chalk.metadata.api_host .Values.slate.metadata.apiHost -}}
{{- required "set chalk.metadata.api_host (the public URL of the API, e.g. https://slate.example.com)" $host | trimSuffix "/" -}}
{{- end -}}

{{- define "slate.registrationSecret" -}}
{{- default (printf "%s-registration" (include "slate.fullname" .)) .Values.slate.registration.existingSecret -}}
{{- end -}}

{{/* Bucket settings, identical for both planes. */}}
{{- define "slate.objectStoreEnv" -}}
- name: SLATE_S3_BUCKET_PREFIX
  value: {{ required "set slate.objectStore.bucketPrefix (buckets <prefix>-data, -source, -dataset, -model, -stages)" .Values.slate.objectStore.bucketPrefix | quote }}
- name: SLATE_S3_REGION
  value: {{ .Values.slate.objectStore.region | quote }}
{{- with .Values.slate.objectStore.endpoint }}
- name: SLATE_S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: SLATE_S3_FORCE_PATH_STYLE
  value: {{ .Values.slate.objectStore.forcePathStyle | quote }}
- name: SLATE_REGISTRATION_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "slate.registrationSecret" . }}
      key: {{ .Values.slate.registration.key }}
{{- end -}}
