{{/*
Names, labels and the image, shared by both Slate charts. Every helper takes the chart's root context
(or a dict holding it as `root`), so `.Chart` is the including chart, not this library.
*/}}

{{/*
The prefix of every object of a release: fullnameOverride, else the release name (the guide installs
`chalk-metadata-plane`, whose Service is then `chalk-metadata-plane`). Cut to 40 characters so that the
longest suffix (`-persistence-metrics`) still makes a DNS label.
*/}}
{{- define "slate.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select one component's pods: dict "root" $ "component" "query". */}}
{{- define "slate.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Every object's labels: the selector labels plus version and ownership. */}}
{{- define "slate.labels" -}}
{{ include "slate.selectorLabels" . }}
app.kubernetes.io/part-of: slate
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The Slate image: image.repository at image.digest, else at image.tag (default the chart's appVersion). */}}
{{- define "slate.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* hostname of an http(s) URL, without port: "https://a.example.com:8443/" → "a.example.com". */}}
{{- define "slate.urlHostname" -}}
{{- regexReplaceAll ":[0-9]+$" (urlParse .).host "" -}}
{{- end -}}
