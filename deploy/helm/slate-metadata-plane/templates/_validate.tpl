{{/*
Every check of this chart's values beyond their types (values.schema.json checks those first). Included
at the top of every template: whichever renders first fails with the whole list, so an operator sees
every missing or invalid value in one message.
*/}}
{{- define "slate-mp.validate" -}}
{{- $c := dict "problems" list -}}
{{- $v := .Values -}}
{{- $m := $v.chalk.metadata -}}
{{- include "slate.checks.url" (dict "c" $c "path" "chalk.metadata.api_host" "value" $m.api_host "required" true "hint" "the API's public URL, e.g. https://slate.example.com") -}}
{{- include "slate.checks.url" (dict "c" $c "path" "chalk.metadata.frontend_host" "value" $m.frontend_host "hint" "where people open the web UI, e.g. https://app.example.com, or leave it out (the UI is served at api_host)") -}}
{{- include "slate.checks.image" (dict "c" $c "path" "chalk.metadata.frontend.image" "value" (dig "frontend" "image" "" $m) "hint" "an image holding the web UI's build at frontend.assetsPath, or leave it out (the API serves the UI from its own image)") -}}
{{- include "slate-mp.checkSeed" (dict "c" $c "seed" $m.seed) -}}
{{- include "slate.checks.image" (dict "c" $c "path" "image.repository" "value" $v.image.repository "required" true "hint" "the Slate image, e.g. ghcr.io/slate-platform/slate") -}}
{{- include "slate.checks.objectStore" (dict "c" $c "values" $v.objectStore) -}}
{{- include "slate.checks.name" (dict "c" $c "path" "database.existingSecret" "value" $v.database.existingSecret "required" true "hint" "the Secret with the PostgreSQL connection (the guide's metadata-plane-secrets)") -}}
{{- include "slate.checks.name" (dict "c" $c "path" "oidc.googleSecret" "value" $v.oidc.googleSecret "hint" "the Secret with GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET") -}}
{{- include "slate.checks.url" (dict "c" $c "path" "oidc.issuer" "value" $v.oidc.issuer "hint" "the OpenID Connect issuer, e.g. https://login.example.com") -}}
{{- if and $v.oidc.issuer (not $v.oidc.existingSecret) -}}
  {{- include "slate.checks.add" (dict "c" $c "path" "oidc.existingSecret" "message" (printf "missing: oidc.issuer needs the Secret holding the client's %s and %s" $v.oidc.clientIdKey $v.oidc.clientSecretKey)) -}}
{{- else if and $v.oidc.existingSecret (not $v.oidc.issuer) -}}
  {{- include "slate.checks.add" (dict "c" $c "path" "oidc.issuer" "message" "missing: oidc.existingSecret is set, so name the issuer it is a client of") -}}
{{- end -}}
{{- include "slate.checks.name" (dict "c" $c "path" "oidc.existingSecret" "value" $v.oidc.existingSecret "hint" "the Secret with the OIDC client's id and secret") -}}
{{- range $path, $s := dict "registration" $v.registration "keyEncryption" $v.keyEncryption -}}
  {{- include "slate.checks.name" (dict "c" $c "path" (printf "%s.existingSecret" $path) "value" $s.existingSecret "hint" "a Secret in this namespace") -}}
  {{- include "slate.checks.secretKey" (dict "c" $c "path" (printf "%s.key" $path) "value" $s.key) -}}
{{- end -}}
{{- if eq $v.queues.type "sqs" -}}
  {{- include "slate.checks.url" (dict "c" $c "path" "queues.sqs.endpoint" "value" $v.queues.sqs.endpoint "hint" "an SQS endpoint (ElasticMQ, a VPC endpoint), or leave it out for AWS") -}}
  {{- if not (regexMatch "^[A-Za-z0-9_-]{0,40}$" (toString $v.queues.sqs.prefix)) -}}
    {{- include "slate.checks.add" (dict "c" $c "path" "queues.sqs.prefix" "message" (printf "%q cannot start SQS queue names: letters, digits, '-' and '_', at most 40 characters" $v.queues.sqs.prefix)) -}}
  {{- end -}}
{{- end -}}
{{- include "slate.checks.autoscaling" (dict "c" $c "path" "autoscaling" "cfg" $v.autoscaling) -}}
{{- if and $v.grpc.enabled (or (eq (int $v.grpc.port) 4000) (and $v.metrics.enabled (eq (int $v.grpc.port) (int $v.metrics.port)))) -}}
  {{- include "slate.checks.add" (dict "c" $c "path" "grpc.port" "message" (printf "%v is taken by the HTTP API (4000) or the metrics port" $v.grpc.port)) -}}
{{- end -}}
{{- include "slate.checks.routing" (dict "c" $c "values" $v "appPort" 4000) -}}
{{- include "slate.checks.fail" (dict "c" $c "chart" "slate-metadata-plane") -}}
{{- end -}}

{{/*
The seed, checked as apps/metadata-plane/src/seed/seed.ts checks it at start-up (the chart refuses what
the metadata plane would refuse, before anything is applied): ids by the guide's rule, required names,
e-mails and roles, references between entries, duplicates.
*/}}
{{- define "slate-mp.checkSeed" -}}
{{- $c := .c -}}
{{- $seed := default (dict) .seed -}}
{{- $teams := dict -}}
{{- $projectTeam := dict -}}
{{- $seen := dict -}}
{{- range $i, $t := default (list) $seed.teams -}}
  {{- $p := printf "chalk.metadata.seed.teams[%d]" $i -}}
  {{- include "slate-mp.checkSeedRecord" (dict "c" $c "path" $p "record" $t "seen" $seen "kind" "teams") -}}
  {{- $_ := set $teams (toString (default "" $t.id)) true -}}
{{- end -}}
{{- range $i, $pr := default (list) $seed.projects -}}
  {{- $p := printf "chalk.metadata.seed.projects[%d]" $i -}}
  {{- include "slate-mp.checkSeedRecord" (dict "c" $c "path" $p "record" $pr "seen" $seen "kind" "projects") -}}
  {{- include "slate-mp.checkTeamRef" (dict "c" $c "path" (printf "%s.team_id" $p) "value" $pr.team_id "teams" $teams) -}}
  {{- $_ := set $projectTeam (toString (default "" $pr.id)) (toString (default "" $pr.team_id)) -}}
{{- end -}}
{{- range $i, $e := default (list) $seed.environments -}}
  {{- $p := printf "chalk.metadata.seed.environments[%d]" $i -}}
  {{- include "slate-mp.checkSeedRecord" (dict "c" $c "path" $p "record" $e "seen" $seen "kind" "environments") -}}
  {{- include "slate-mp.checkTeamRef" (dict "c" $c "path" (printf "%s.team_id" $p) "value" $e.team_id "teams" $teams) -}}
  {{- $project := toString (default "" $e.project_id) -}}
  {{- if not $project -}}
    {{- include "slate.checks.add" (dict "c" $c "path" (printf "%s.project_id" $p) "message" "missing: the id of a project in seed.projects") -}}
  {{- else if not (hasKey $projectTeam $project) -}}
    {{- include "slate.checks.add" (dict "c" $c "path" (printf "%s.project_id" $p) "message" (printf "unknown project %q (not in seed.projects)" $project)) -}}
  {{- else if and $e.team_id (ne (get $projectTeam $project) (toString $e.team_id)) -}}
    {{- include "slate.checks.add" (dict "c" $c "path" (printf "%s.team_id" $p) "message" (printf "project %q belongs to team %q, not %q" $project (get $projectTeam $project) (toString $e.team_id))) -}}
  {{- end -}}
{{- end -}}
{{- $inviteIds := dict -}}
{{- range $i, $inv := default (list) $seed.team_invites -}}
  {{- $p := printf "chalk.metadata.seed.team_invites[%d]" $i -}}
  {{- $id := toString (default "" $inv.id) -}}
  {{- if not $id -}}
    {{- include "slate.checks.add" (dict "c" $c "path" (printf "%s.id" $p) "message" "missing: any unique string, e.g. seed_invite_1") -}}
  {{- else if hasKey $inviteIds $id -}}
    {{- include "slate.checks.add" (dict "c" $c "path" (printf "%s.id" $p) "message" (printf "duplicate id %q" $id)) -}}
  {{- end -}}
  {{- $_ := set $inviteIds $id true -}}
  {{- include "slate-mp.checkTeamRef" (dict "c" $c "path" (printf "%s.team" $p) "value" $inv.team "teams" $teams) -}}
  {{- $email := toString (default "" $inv.email) -}}
  {{- if not (regexMatch "^[A-Za-z0-9_'+.-]*[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9-]*\\.)+[A-Za-z]{2,}$" $email) -}}
    {{- include "slate.checks.add" (dict "c" $c "path" (printf "%s.email" $p) "message" (printf "%q is not an e-mail address" $email)) -}}
  {{- end -}}
  {{- if not (has (toString (default "" $inv.role)) (list "owner" "admin" "developer" "viewer")) -}}
    {{- include "slate.checks.add" (dict "c" $c "path" (printf "%s.role" $p) "message" (printf "%q is not a role: owner, admin, developer or viewer" (toString (default "" $inv.role)))) -}}
  {{- end -}}
{{- end -}}
{{- end -}}

{{/* A team, project or environment: id by the guide's rule, unique within its list; a name. */}}
{{- define "slate-mp.checkSeedRecord" -}}
{{- $id := toString (default "" .record.id) -}}
{{- $rule := "the guide's rule for seed ids: \"lowercase, less than 10 characters, no spaces or special characters\" (a-z and 0-9, 1 to 9 of them), e.g. \"acme\"" -}}
{{- if not $id -}}
  {{- include "slate.checks.add" (dict "c" .c "path" (printf "%s.id" .path) "message" (printf "missing; %s" $rule)) -}}
{{- else if not (regexMatch "^[a-z0-9]{1,9}$" $id) -}}
  {{- include "slate.checks.add" (dict "c" .c "path" (printf "%s.id" .path) "message" (printf "%q (%d characters) breaks %s" $id (len $id) $rule)) -}}
{{- end -}}
{{- $key := printf "%s/%s" .kind $id -}}
{{- if and $id (hasKey .seen $key) -}}
  {{- include "slate.checks.add" (dict "c" .c "path" (printf "%s.id" .path) "message" (printf "duplicate id %q" $id)) -}}
{{- end -}}
{{- $_ := set .seen $key true -}}
{{- if not .record.name -}}
  {{- include "slate.checks.add" (dict "c" .c "path" (printf "%s.name" .path) "message" "missing: a display name, e.g. Acme Payments") -}}
{{- end -}}
{{- end -}}

{{- define "slate-mp.checkTeamRef" -}}
{{- $team := toString (default "" .value) -}}
{{- if not $team -}}
  {{- include "slate.checks.add" (dict "c" .c "path" .path "message" "missing: the id of a team in seed.teams") -}}
{{- else if not (hasKey .teams $team) -}}
  {{- include "slate.checks.add" (dict "c" .c "path" .path "message" (printf "unknown team %q (not in seed.teams)" $team)) -}}
{{- end -}}
{{- end -}}
