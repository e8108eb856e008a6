{{/*
Checks of values that a JSON schema cannot word well or cannot express (presence, formats, references
between values). Each check appends to the list at `.c.problems` instead of failing, so that
"slate.checks.fail" reports every problem of a values file in one message. The schema
(values.schema.json) has already checked the types.

Every check takes a dict: c (the collector, a dict with `problems`), path (the value's dotted path, as
the operator writes it), value, and check-specific keys.
*/}}

{{- define "slate.checks.add" -}}
{{- $_ := set .c "problems" (append .c.problems (printf "%s: %s" .path .message)) -}}
{{- end -}}

{{/* The guide writes placeholders like "<YOUR API HOST, e.g. https://api.chalk.ai>". */}}
{{- define "slate.checks.isPlaceholder" -}}
{{- if regexMatch "^<.*>$" (toString .) }}true{{ end -}}
{{- end -}}

{{/*
An http(s) URL of a host, without path, query or credentials. `required` (bool), `hint` (what to set,
with an example).
*/}}
{{- define "slate.checks.url" -}}
{{- $v := toString (default "" .value) -}}
{{- if not $v -}}
  {{- if .required }}{{ include "slate.checks.add" (dict "c" .c "path" .path "message" (printf "missing: %s" .hint)) }}{{ end -}}
{{- else if include "slate.checks.isPlaceholder" $v -}}
  {{- include "slate.checks.add" (dict "c" .c "path" .path "message" (printf "%q is the guide's placeholder: %s" $v .hint)) -}}
{{- else if not (regexMatch "^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?/?$" $v) -}}
  {{- include "slate.checks.add" (dict "c" .c "path" .path "message" (printf "%q is not an http(s) URL of a host (no path, query or user): %s" $v .hint)) -}}
{{- end -}}
{{- end -}}

{{/* A container image reference (registry/name[:tag][@sha256:digest]). `required` (bool), `hint`. */}}
{{- define "slate.checks.image" -}}
{{- $v := toString (default "" .value) -}}
{{- $ref := "^[a-z0-9]+([._-][a-z0-9]+)*(\\.[a-z0-9-]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[a-f0-9]{64})?$" -}}
{{- if not $v -}}
  {{- if .required }}{{ include "slate.checks.add" (dict "c" .c "path" .path "message" (printf "missing: %s" .hint)) }}{{ end -}}
{{- else if include "slate.checks.isPlaceholder" $v -}}
  {{- include "slate.checks.add" (dict "c" .c "path" .path "message" (printf "%q is the guide's placeholder: %s" $v .hint)) -}}
{{- else if not (regexMatch $ref $v) -}}
  {{- include "slate.checks.add" (dict "c" .c "path" .path "message" (printf "%q is not an image reference (registry/name:tag or @sha256:…): %s" $v .hint)) -}}
{{- end -}}
{{- end -}}

{{/*
A Kubernetes object name (DNS-1123 label: lowercase letters, digits and '-', at most 63 characters).
`required` (bool), `hint` (what the object is for).
*/}}
{{- define "slate.checks.name" -}}
{{- $v := toString (default "" .value) -}}
{{- if not $v -}}
  {{- if .required }}{{ include "slate.checks.add" (dict "c" .c "path" .path "message" (printf "missing: %s" .hint)) }}{{ end -}}
{{- else if not (regexMatch "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$" $v) -}}
  {{- include "slate.checks.add" (dict "c" .c "path" .path "message" (printf "%q is not a Kubernetes name (lowercase letters, digits and '-', at most 63 characters): %s" $v .hint)) -}}
{{- end -}}
{{- end -}}

{{/* A Secret's key: letters, digits, '-', '_' and '.'. */}}
{{- define "slate.checks.secretKey" -}}
{{- $v := toString (default "" .value) -}}
{{- if not (regexMatch "^[-._a-zA-Z0-9]{1,253}$" $v) -}}
  {{- include "slate.checks.add" (dict "c" .c "path" .path "message" (printf "%q is not a Secret key (letters, digits, '-', '_', '.')" $v)) -}}
{{- end -}}
{{- end -}}

{{/* host:port (a Redis or Kafka address). `required` (bool), `hint`. */}}
{{- define "slate.checks.hostPort" -}}
{{- $v := toString (default "" .value) -}}
{{- if not $v -}}
  {{- if .required }}{{ include "slate.checks.add" (dict "c" .c "path" .path "message" (printf "missing: %s" .hint)) }}{{ end -}}
{{- else if not (regexMatch "^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:[0-9]{1,5}$" $v) -}}
  {{- include "slate.checks.add" (dict "c" .c "path" .path "message" (printf "%q is not host:port: %s" $v .hint)) -}}
{{- end -}}
{{- end -}}

{{/*
Autoscaling bounds: `cfg` is an {enabled, minReplicas, maxReplicas} block; nothing to check when it is
off.
*/}}
{{- define "slate.checks.autoscaling" -}}
{{- if and .cfg .cfg.enabled (gt (int .cfg.minReplicas) (int .cfg.maxReplicas)) -}}
  {{- include "slate.checks.add" (dict "c" .c "path" .path "message" (printf "minReplicas (%v) is above maxReplicas (%v)" .cfg.minReplicas .cfg.maxReplicas)) -}}
{{- end -}}
{{- end -}}

{{/*
Routing and metrics values shared by both charts: `values` is the chart's root values, `appPort` the
container's API port. An enabled Gateway route needs somewhere to attach; the metrics port must not be the
API's (the planes refuse that); a ServiceMonitor needs the metrics port.
*/}}
{{- define "slate.checks.routing" -}}
{{- $g := .values.gateway -}}
{{- if and $g.enabled (not $g.create) (not $g.parentRefs) -}}
  {{- include "slate.checks.add" (dict "c" .c "path" "gateway.parentRefs" "message" "missing: gateway.enabled needs the Gateway to attach the HTTPRoute to (e.g. [{name: eg, namespace: envoy-gateway-system}]), or gateway.create: true") -}}
{{- end -}}
{{- if and .values.certManager.clusterIssuer .values.certManager.issuer -}}
  {{- include "slate.checks.add" (dict "c" .c "path" "certManager" "message" "set clusterIssuer or issuer, not both") -}}
{{- end -}}
{{- if and .values.metrics.enabled (eq (int .values.metrics.port) (int .appPort)) -}}
  {{- include "slate.checks.add" (dict "c" .c "path" "metrics.port" "message" (printf "%v is the API's own port: metrics are served apart, on an internal port (default 9464)" .values.metrics.port)) -}}
{{- end -}}
{{- if and .values.metrics.serviceMonitor.enabled (not .values.metrics.enabled) -}}
  {{- include "slate.checks.add" (dict "c" .c "path" "metrics.serviceMonitor.enabled" "message" "needs metrics.enabled: true (the ServiceMonitor scrapes the metrics port)") -}}
{{- end -}}
{{- end -}}

{{/* objectStore: the guide's five buckets by prefix, an optional S3-compatible endpoint and credentials. */}}
{{- define "slate.checks.objectStore" -}}
{{- $o := .values -}}
{{- $prefix := toString $o.bucketPrefix -}}
{{- if not $prefix -}}
  {{- include "slate.checks.add" (dict "c" .c "path" "objectStore.bucketPrefix" "message" "missing: the prefix of the guide's five S3 buckets (<prefix>-data, -source, -dataset, -model, -stages), e.g. acme-slate") -}}
{{- else if not (regexMatch "^[a-z0-9]([a-z0-9.-]{0,53}[a-z0-9])?$" $prefix) -}}
  {{- include "slate.checks.add" (dict "c" .c "path" "objectStore.bucketPrefix" "message" (printf "%q cannot start S3 bucket names: lowercase letters, digits, '.' and '-', at most 55 characters (so <prefix>-dataset fits in 63)" $prefix)) -}}
{{- end -}}
{{- include "slate.checks.url" (dict "c" .c "path" "objectStore.endpoint" "value" $o.endpoint "hint" "an S3-compatible endpoint, e.g. http://minio.storage:9000") -}}
{{- include "slate.checks.name" (dict "c" .c "path" "objectStore.credentialsSecret" "value" $o.credentialsSecret "hint" "a Secret holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") -}}
{{- end -}}

{{/* Fails with every collected problem, or renders nothing. `chart` names the chart in the message. */}}
{{- define "slate.checks.fail" -}}
{{- $n := len .c.problems -}}
{{- if $n -}}
{{- fail (printf "\n%s: %d value(s) to fix (nothing was rendered):\n  - %s\nSee deploy/helm/README.md for every value." .chart $n (join "\n  - " .c.problems)) -}}
{{- end -}}
{{- end -}}
