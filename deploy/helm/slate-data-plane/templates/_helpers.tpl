{{/* The data plane's name (SLATE_DATA_PLANE_NAME): name, else the release name. */}}
{{- define "slate-dp.name" -}}
{{- default .Release.Name .Values.name -}}
{{- end -}}

{{- define "slate-dp.datasetUrlKeySecret" -}}
{{- default (printf "%s-dataset-url-key" (include "slate.fullname" .)) .Values.datasetUrlKey.existingSecret -}}
{{- end -}}

{{/*
The Deployments to render, as a YAML list (read back with fromYamlArray). Each entry:
  key        its values block (roles.<key>, or combined)
  role       SLATE_ROLE
  name       the Deployment's name; component its component label
  namespace  "" for the release's namespace
  sa         its service account
  http       serves queries (the Service's port, /readyz): query and combined
  runtime    runs resolvers (workers, data sources, dataset links, triggers): all but persistence
*/}}
{{- define "slate-dp.deployments" -}}
{{- $full := include "slate.fullname" . -}}
{{- $out := list -}}
{{- if eq .Values.layout "combined" -}}
{{- $out = append $out (dict "key" "combined" "role" "all" "name" $full "component" "data-plane" "namespace" "" "sa" .Values.serviceAccount.name "http" true "runtime" true) -}}
{{- else -}}
{{- range $key := list "query" "persistence" "streaming" "jobs" -}}
{{- $cfg := index $.Values.roles $key -}}
{{- if $cfg.enabled -}}
{{- $e := dict "key" $key "role" $key "name" (printf "%s-%s" $full $key) "component" $key "namespace" "" "sa" $.Values.serviceAccount.name "http" (eq $key "query") "runtime" true -}}
{{- if eq $key "persistence" -}}
{{- $_ := set $e "namespace" (default "" $cfg.namespace.name) -}}
{{- $_ := set $e "sa" $cfg.serviceAccount.name -}}
{{- $_ := set $e "runtime" false -}}
{{- end -}}
{{- $out = append $out $e -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* The values block of a Deployment entry. */}}
{{- define "slate-dp.cfg" -}}
{{- if eq .entry.key "combined" }}{{ toYaml .root.Values.combined }}{{ else }}{{ toYaml (index .root.Values.roles .entry.key) }}{{ end -}}
{{- end -}}

{{/*
Online store and result bus, exactly as @slate/stores reads them: REDIS_URL and SLATE_REDIS_KEY_PREFIX
(onlineStoreConfigFromEnv); SLATE_BUS_REDIS_URL, or KAFKA_BROKERS with KAFKA_SSL, KAFKA_SASL_MECHANISM,
KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, KAFKA_TOPIC_PREFIX and KAFKA_PARTITIONS (busConfigFromEnv).
*/}}
{{- define "slate-dp.storesEnv" -}}
{{- $v := .Values -}}
{{ include "slate.objectStoreEnv" . }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef: { name: {{ $v.onlineStore.redis.existingSecret }}, key: {{ $v.onlineStore.redis.key }} }
{{- with $v.redisKeyPrefix }}
- name: SLATE_REDIS_KEY_PREFIX
  value: {{ . | quote }}
{{- end }}
{{- if eq $v.bus.type "kafka" }}
{{- $k := $v.bus.kafka }}
- name: KAFKA_BROKERS
  value: {{ join "," $k.brokers | quote }}
- name: KAFKA_SSL
  value: {{ $k.ssl | toString | quote }}
{{- with $k.topicPrefix }}
- name: KAFKA_TOPIC_PREFIX
  value: {{ . | quote }}
{{- end }}
- name: KAFKA_PARTITIONS
  value: {{ $k.partitions | default 1 | toString | quote }}
{{- if ne $k.sasl.mechanism "none" }}
- name: KAFKA_SASL_MECHANISM
  value: {{ $k.sasl.mechanism | quote }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef: { name: {{ $k.sasl.existingSecret }}, key: {{ $k.sasl.usernameKey }} }
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ $k.sasl.existingSecret }}, key: {{ $k.sasl.passwordKey }} }
{{- end }}
{{- else if $v.bus.redis.existingSecret }}
- name: SLATE_BUS_REDIS_URL
  valueFrom:
    secretKeyRef: { name: {{ $v.bus.redis.existingSecret }}, key: {{ $v.bus.redis.key }} }
{{- end }}
{{- end -}}

{{/*
What every role reads (apps/data-plane/src/main.ts and the brief's replica conventions): its role, the
group it belongs to and its own instance id (the pod's name), the group key file, the metadata plane.
dict root entry.
*/}}
{{- define "slate-dp.identityEnv" -}}
{{- $v := .root.Values -}}
- name: SLATE_ROLE
  value: {{ .entry.role | quote }}
- name: SLATE_DATA_PLANE_NAME
  value: {{ include "slate-dp.name" .root | quote }}
- name: SLATE_INSTANCE_ID
  valueFrom:
    fieldRef: { fieldPath: metadata.name }
- name: SLATE_DATA_PLANE_KEY_FILE
  value: /var/run/secrets/slate/group-key/group-key.jwk
- name: SLATE_VERSION
  value: {{ .root.Chart.AppVersion | quote }}
- name: SLATE_METADATA_PLANE_URL
  value: {{ $v.metadataPlane.url | toString | trimSuffix "/" | quote }}
- name: SLATE_METADATA_PLANE_ISSUER
  value: {{ default $v.metadataPlane.url $v.metadataPlane.issuer | toString | trimSuffix "/" | quote }}
- name: SLATE_REGISTRATION_TOKEN
  valueFrom:
    secretKeyRef: { name: {{ $v.registration.existingSecret }}, key: {{ $v.registration.key }} }
- name: SLATE_STATE_DIR
  value: /var/lib/slate
- name: LOG_LEVEL
  value: {{ $v.logLevel | quote }}
{{- if .entry.http }}
- name: PORT
  value: "4001"
{{- end }}
- name: SLATE_GRPC_PORT
  value: {{ ternary ($v.grpc.port | int | toString) "off" (and .entry.http $v.grpc.enabled) | quote }}
{{- end -}}

{{/*
OpenTelemetry tracing for every role (observability/tracing/tracing-config.ts reads the SDK's standard
variables): nothing at all while `tracing.endpoint` is empty.
*/}}
{{- define "slate-dp.tracingEnv" -}}
{{- $t := .Values.tracing | default dict -}}
{{- if $t.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $t.endpoint | toString | trimSuffix "/" | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ $t.protocol | default "http/protobuf" | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ $t.sampler | default "parentbased_traceidratio" | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $t.samplerArg | default "0.01" | toString | quote }}
{{- with $t.serviceName }}
- name: OTEL_SERVICE_NAME
  value: {{ . | quote }}
{{- end }}
{{- with $t.resourceAttributes }}
{{- $pairs := list }}
{{- range $k, $val := . }}
{{- $pairs = append $pairs (printf "%s=%s" $k ($val | toString | urlquery | replace "+" "%20")) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $pairs | quote }}
{{- end }}
{{- if and $t.headersSecret $t.headersSecret.name }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  valueFrom:
    secretKeyRef: { name: {{ $t.headersSecret.name }}, key: {{ $t.headersSecret.key | default "headers" }} }
{{- end }}
{{- end }}
{{- end -}}

{{/* What the roles that run resolvers read besides (apps/data-plane/src/main.ts). dict root cfg. */}}
{{- define "slate-dp.runtimeEnv" -}}
{{- $v := .root.Values -}}
- name: SLATE_PUBLIC_URL
  value: {{ $v.publicUrl | toString | trimSuffix "/" | quote }}
- name: SLATE_WORKERS
  value: {{ .cfg.workers | default 2 | int | toString | quote }}
- name: SLATE_TRIGGERS
  value: {{ $v.triggers | quote }}
- name: SLATE_USAGE_REPORT_INTERVAL_MS
  value: {{ $v.usageReportIntervalMs | int | toString | quote }}
- name: SLATE_DATASET_URL_KEY
  valueFrom:
    secretKeyRef: { name: {{ include "slate-dp.datasetUrlKeySecret" .root }}, key: {{ $v.datasetUrlKey.key }} }
{{- with $v.dataSources }}
- name: SLATE_DATA_SOURCES
  value: {{ toJson . | quote }}
{{- end }}
{{- end -}}

{{/*
The result bus as background persistence consumes it, for KEDA: the topic (RESULT_BUS_TOPIC in
apps/data-plane/src/persistence/result-message.ts), the consumer group (persistence-worker.ts's
default) and the Redis stream key (`<keyPrefix>:bus:<topic>` in packages/stores/src/bus/redis/redis-bus.ts,
keyPrefix SLATE_REDIS_KEY_PREFIX or "slate"). deploy/helm/chart-sources.test.ts checks them against the
sources.
*/}}
{{- define "slate-dp.busTopic" -}}result-bus{{- end -}}
{{- define "slate-dp.persistenceGroup" -}}background-persistence{{- end -}}
{{- define "slate-dp.redisStream" -}}
{{- printf "%s:bus:%s" (default "slate" .Values.redisKeyPrefix) (include "slate-dp.busTopic" .) -}}
{{- end -}}
