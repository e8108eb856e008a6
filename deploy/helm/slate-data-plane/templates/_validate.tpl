{{/*
Every check of this chart's values beyond their types (values.schema.json checks those first). Included
at the top of every template: whichever renders first fails with the whole list, so an operator sees
every missing or invalid value in one message.
*/}}
{{- define "slate-dp.validate" -}}
{{- $c := dict "problems" list -}}
{{- $v := .Values -}}
{{- include "slate.checks.name" (dict "c" $c "path" "name" "value" (include "slate-dp.name" .) "required" true "hint" "the data plane's name, shared by all its replicas (default: the release name)") -}}
{{- include "slate.checks.url" (dict "c" $c "path" "metadataPlane.url" "value" $v.metadataPlane.url "required" true "hint" "the metadata plane's URL: http://chalk-metadata-plane.chalk-metadata.svc:4000 in its cluster, else its api_host") -}}
{{- include "slate.checks.url" (dict "c" $c "path" "metadataPlane.issuer" "value" $v.metadataPlane.issuer "hint" "the metadata plane's public URL (its api_host), e.g. https://slate.example.com") -}}
{{- include "slate.checks.url" (dict "c" $c "path" "publicUrl" "value" $v.publicUrl "required" true "hint" "the URL clients query this data plane at, e.g. https://query.example.com") -}}
{{- include "slate.checks.name" (dict "c" $c "path" "registration.existingSecret" "value" $v.registration.existingSecret "required" true "hint" "the Secret holding the metadata plane's registration token (copy it from the metadata plane's namespace)") -}}
{{- include "slate.checks.secretKey" (dict "c" $c "path" "registration.key" "value" $v.registration.key) -}}
{{- include "slate.checks.name" (dict "c" $c "path" "groupKey.existingSecret" "value" $v.groupKey.existingSecret "required" true "hint" "the Secret holding this data plane's X25519 group key as a JWK (README: how to make one)") -}}
{{- include "slate.checks.secretKey" (dict "c" $c "path" "groupKey.key" "value" $v.groupKey.key) -}}
{{- include "slate.checks.name" (dict "c" $c "path" "datasetUrlKey.existingSecret" "value" $v.datasetUrlKey.existingSecret "hint" "a Secret holding the dataset link key (at least 32 characters)") -}}
{{- include "slate.checks.secretKey" (dict "c" $c "path" "datasetUrlKey.key" "value" $v.datasetUrlKey.key) -}}
{{- include "slate.checks.objectStore" (dict "c" $c "values" $v.objectStore) -}}
{{- include "slate.checks.image" (dict "c" $c "path" "image.repository" "value" $v.image.repository "required" true "hint" "the Slate image, e.g. ghcr.io/slate-platform/slate") -}}
{{- include "slate.checks.name" (dict "c" $c "path" "onlineStore.redis.existingSecret" "value" $v.onlineStore.redis.existingSecret "required" true "hint" "the Secret holding the online store's Redis URL (key REDIS_URL)") -}}
{{- include "slate.checks.secretKey" (dict "c" $c "path" "onlineStore.redis.key" "value" $v.onlineStore.redis.key) -}}
{{- if not (regexMatch "^[A-Za-z0-9_.-]{0,64}$" (toString $v.redisKeyPrefix)) -}}
  {{- include "slate.checks.add" (dict "c" $c "path" "redisKeyPrefix" "message" (printf "%q: letters, digits, '_', '.' and '-' only (it starts every Redis key)" $v.redisKeyPrefix)) -}}
{{- end -}}
{{- include "slate-dp.checkBus" (dict "c" $c "values" $v) -}}
{{- include "slate-dp.checkRoles" (dict "c" $c "values" $v) -}}
{{- range $i, $s := $v.dataSources -}}
  {{- $p := printf "dataSources[%d]" $i -}}
  {{- if not (regexMatch "^[A-Za-z_][A-Za-z0-9_-]*$" (toString (default "" $s.name))) -}}
    {{- include "slate.checks.add" (dict "c" $c "path" (printf "%s.name" $p) "message" (printf "%q: the name SQL resolvers use (letters, digits, _ and -, not starting with a digit)" (toString (default "" $s.name)))) -}}
  {{- end -}}
  {{- $url := toString (default "" $s.url) -}}
  {{- $scheme := ternary "^postgres(ql)?://" "^mysql://" (eq (toString $s.type) "postgres") -}}
  {{- if not (regexMatch $scheme $url) -}}
    {{- include "slate.checks.add" (dict "c" $c "path" (printf "%s.url" $p) "message" (printf "missing or not a %s URL" (default "postgres" $s.type))) -}}
  {{- else if regexMatch "^[a-z]+://[^/@:]*:[^/@$][^/@]*@" $url -}}
    {{- include "slate.checks.add" (dict "c" $c "path" (printf "%s.url" $p) "message" "holds a password in clear: store it as a secret of the environment and write ${secret:NAME} in its place") -}}
  {{- end -}}
{{- end -}}
{{- include "slate.checks.routing" (dict "c" $c "values" $v "appPort" 4001) -}}
{{- if and $v.grpc.enabled (or (eq (int $v.grpc.port) 4001) (and $v.metrics.enabled (eq (int $v.grpc.port) (int $v.metrics.port)))) -}}
  {{- include "slate.checks.add" (dict "c" $c "path" "grpc.port" "message" (printf "%v is taken by the HTTP API (4001) or the metrics port" $v.grpc.port)) -}}
{{- end -}}
{{- include "slate.checks.fail" (dict "c" $c "chart" "slate-data-plane") -}}
{{- end -}}

{{/* The bus: the online store's Redis or another one, or Kafka with its brokers and SASL credentials. */}}
{{- define "slate-dp.checkBus" -}}
{{- $b := .values.bus -}}
{{- if eq $b.type "kafka" -}}
  {{- if not $b.kafka.brokers -}}
    {{- include "slate.checks.add" (dict "c" .c "path" "bus.kafka.brokers" "message" "missing: bus.type kafka needs the bootstrap brokers as host:port, e.g. [b-1.msk.example:9096]") -}}
  {{- end -}}
  {{- range $i, $broker := $b.kafka.brokers -}}
    {{- include "slate.checks.hostPort" (dict "c" $.c "path" (printf "bus.kafka.brokers[%d]" $i) "value" $broker "hint" "a Kafka broker") -}}
  {{- end -}}
  {{- if ne $b.kafka.sasl.mechanism "none" -}}
    {{- include "slate.checks.name" (dict "c" .c "path" "bus.kafka.sasl.existingSecret" "value" $b.kafka.sasl.existingSecret "required" true "hint" (printf "the Secret holding the SASL/%s credentials (keys %s and %s), or set mechanism: none" $b.kafka.sasl.mechanism $b.kafka.sasl.usernameKey $b.kafka.sasl.passwordKey)) -}}
    {{- include "slate.checks.secretKey" (dict "c" .c "path" "bus.kafka.sasl.usernameKey" "value" $b.kafka.sasl.usernameKey) -}}
    {{- include "slate.checks.secretKey" (dict "c" .c "path" "bus.kafka.sasl.passwordKey" "value" $b.kafka.sasl.passwordKey) -}}
  {{- end -}}
{{- else -}}
  {{- include "slate.checks.name" (dict "c" .c "path" "bus.redis.existingSecret" "value" $b.redis.existingSecret "hint" "a Secret holding the bus Redis URL, or leave it out to use the online store's") -}}
  {{- include "slate.checks.secretKey" (dict "c" .c "path" "bus.redis.key" "value" $b.redis.key) -}}
{{- end -}}
{{- end -}}

{{/* The roles: at least one, each's scaling, persistence's namespace and KEDA. */}}
{{- define "slate-dp.checkRoles" -}}
{{- $v := .values -}}
{{- if eq $v.layout "combined" -}}
  {{- include "slate.checks.autoscaling" (dict "c" .c "path" "combined.autoscaling" "cfg" $v.combined.autoscaling) -}}
{{- else -}}
  {{- $any := false -}}
  {{- range $key := list "query" "persistence" "streaming" "jobs" -}}
    {{- $r := index $v.roles $key -}}
    {{- if $r.enabled }}{{ $any = true }}{{ end -}}
    {{- include "slate.checks.autoscaling" (dict "c" $.c "path" (printf "roles.%s.autoscaling" $key) "cfg" $r.autoscaling) -}}
  {{- end -}}
  {{- if not $any -}}
    {{- include "slate.checks.add" (dict "c" .c "path" "roles" "message" "every role is disabled: enable at least one of query, persistence, streaming, jobs (or layout: combined)") -}}
  {{- end -}}
  {{- $p := $v.roles.persistence -}}
  {{- include "slate.checks.name" (dict "c" .c "path" "roles.persistence.namespace.name" "value" $p.namespace.name "hint" "the namespace of background persistence, e.g. background-persistence") -}}
  {{- if and $p.namespace.create (not $p.namespace.name) -}}
    {{- include "slate.checks.add" (dict "c" .c "path" "roles.persistence.namespace.name" "message" "missing: namespace.create needs the namespace's name") -}}
  {{- end -}}
  {{- include "slate.checks.name" (dict "c" .c "path" "roles.persistence.serviceAccount.name" "value" $p.serviceAccount.name "required" $p.enabled "hint" "the persistence service account (the guide binds it to its own IAM role)") -}}
  {{- if and $p.enabled $p.keda.enabled -}}
    {{- if $p.autoscaling.enabled -}}
      {{- include "slate.checks.add" (dict "c" .c "path" "roles.persistence.autoscaling.enabled" "message" "KEDA scales persistence (keda.enabled): turn the CPU autoscaler off, two autoscalers would fight") -}}
    {{- end -}}
    {{- if gt (int $p.keda.minReplicaCount) (int $p.keda.maxReplicaCount) -}}
      {{- include "slate.checks.add" (dict "c" .c "path" "roles.persistence.keda" "message" (printf "minReplicaCount (%v) is above maxReplicaCount (%v)" $p.keda.minReplicaCount $p.keda.maxReplicaCount)) -}}
    {{- end -}}
    {{- if ne $v.bus.type "kafka" -}}
      {{- include "slate.checks.hostPort" (dict "c" .c "path" "roles.persistence.keda.redis.address" "value" $p.keda.redis.address "required" true "hint" "the bus Redis as host:port for KEDA's redis-streams scaler, e.g. redis-master.redis:6379") -}}
    {{- end -}}
  {{- end -}}
{{- end -}}
{{- end -}}
