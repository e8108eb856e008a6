{{/* The API's public URL, without a trailing slash (validated by slate-mp.validate). */}}
{{- define "slate-mp.apiHost" -}}
{{- .Values.chalk.metadata.api_host | toString | trimSuffix "/" -}}
{{- end -}}

{{- define "slate-mp.registrationSecret" -}}
{{- default (printf "%s-registration" (include "slate.fullname" .)) .Values.registration.existingSecret -}}
{{- end -}}

{{- define "slate-mp.keyEncryptionSecret" -}}
{{- default (printf "%s-key-encryption" (include "slate.fullname" .)) .Values.keyEncryption.existingSecret -}}
{{- end -}}

{{/* Where the API serves the web UI from: the frontend image's copy, else the UI built into its image. */}}
{{- define "slate-mp.webRoot" -}}
{{- if (dig "frontend" "image" "" .Values.chalk.metadata) }}/srv/web{{ else }}/app/apps/web/dist{{ end -}}
{{- end -}}

{{/* Environment variables of the database, by key from the guide's Secret (apps/metadata-plane/src/db/database.ts). */}}
{{- define "slate-mp.databaseEnv" -}}
{{- $s := .Values.database.existingSecret -}}
{{- if eq .Values.database.format "url" }}
- name: DATABASE_URL
  valueFrom: { secretKeyRef: { name: {{ $s }}, key: DATABASE_URL } }
{{- else }}
{{- range list "POSTGRES_USER" "POSTGRES_PASSWORD" "POSTGRES_HOST" "POSTGRES_DB" }}
- name: {{ . }}
  valueFrom: { secretKeyRef: { name: {{ $s }}, key: {{ . }} } }
{{- end }}
- name: POSTGRES_PORT
  valueFrom: { secretKeyRef: { name: {{ $s }}, key: POSTGRES_PORT, optional: true } }
{{- end }}
{{- end -}}

{{/* Sign-in: the guide's Google Secret (optional as a whole), and any other OIDC issuer. */}}
{{- define "slate-mp.oidcEnv" -}}
{{- with .Values.oidc.googleSecret }}
- name: GOOGLE_CLIENT_ID
  valueFrom: { secretKeyRef: { name: {{ . }}, key: GOOGLE_CLIENT_ID, optional: true } }
- name: GOOGLE_CLIENT_SECRET
  valueFrom: { secretKeyRef: { name: {{ . }}, key: GOOGLE_CLIENT_SECRET, optional: true } }
{{- end }}
{{- if .Values.oidc.issuer }}
- name: SLATE_OIDC_ISSUER
  value: {{ .Values.oidc.issuer | quote }}
- name: SLATE_OIDC_NAME
  value: {{ .Values.oidc.name | quote }}
- name: SLATE_OIDC_ID
  value: {{ .Values.oidc.id | quote }}
- name: SLATE_OIDC_CLIENT_ID
  valueFrom: { secretKeyRef: { name: {{ .Values.oidc.existingSecret }}, key: {{ .Values.oidc.clientIdKey }} } }
- name: SLATE_OIDC_CLIENT_SECRET
  valueFrom: { secretKeyRef: { name: {{ .Values.oidc.existingSecret }}, key: {{ .Values.oidc.clientSecretKey }} } }
{{- end }}
{{- end -}}

{{/* Buckets (library) and queues (apps/metadata-plane/src/main.ts: SLATE_QUEUES, SLATE_SQS_*). */}}
{{- define "slate-mp.storesEnv" -}}
{{ include "slate.objectStoreEnv" . }}
- name: SLATE_QUEUES
  value: {{ .Values.queues.type | quote }}
{{- if eq .Values.queues.type "sqs" }}
- name: SLATE_SQS_REGION
  value: {{ .Values.queues.sqs.region | quote }}
{{- with .Values.queues.sqs.endpoint }}
- name: SLATE_SQS_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: SLATE_SQS_PREFIX
  value: {{ .Values.queues.sqs.prefix | quote }}
{{- end }}
{{- end -}}
