{{/*
Traffic into a Service from outside the cluster, as either or both of:
- an Ingress per route (networking.k8s.io/v1), with cert-manager's ingress-shim annotations for TLS;
- a Gateway API HTTPRoute per route (the guide's Envoy Gateway), attached to gateway.parentRefs and/or
  to a Gateway this release creates (gateway.create), whose HTTPS listeners carry cert-manager's
  gateway-shim annotations (cert-manager must run with Gateway API support, as the guide says).

Takes dict:
  root     the chart's root context
  name     base object name
  service  the Service routed to (port `http`)
  port     that Service's port number (HTTPRoute backendRefs take a number)
  routes   list of dict: host, suffix ("" for the main route), tlsSecret, annotations (Ingress-only
           extras), redirectTo (a hostname: the route answers with a 302 to it instead of proxying)
*/}}

{{- define "slate.certManagerAnnotations" -}}
{{- $a := dict -}}
{{- with .Values.certManager.clusterIssuer }}{{ $_ := set $a "cert-manager.io/cluster-issuer" . }}{{ end -}}
{{- with .Values.certManager.issuer }}{{ $_ := set $a "cert-manager.io/issuer" . }}{{ end -}}
{{- toYaml $a -}}
{{- end -}}

{{- define "slate.routing" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $ctx := . -}}
{{- $cm := include "slate.certManagerAnnotations" $root | fromYaml -}}
{{- if $v.ingress.enabled }}
{{- range .routes }}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ printf "%s%s" $ctx.name .suffix }}
  labels:
    {{- include "slate.labels" (dict "root" $root "component" "ingress") | nindent 4 }}
  {{- with (merge (dict) (default (dict) .annotations) (default (dict) $v.ingress.annotations) $cm) }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with $v.ingress.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- if $v.ingress.tls }}
  tls:
    - hosts:
        - {{ .host | quote }}
      secretName: {{ .tlsSecret }}
  {{- end }}
  rules:
    - host: {{ .host | quote }}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {{ $ctx.service }}
                port:
                  name: http
{{- end }}
{{- end }}
{{- if $v.gateway.enabled }}
{{- $parents := list -}}
{{- range $v.gateway.parentRefs }}{{ $parents = append $parents . }}{{ end -}}
{{- if $v.gateway.create }}{{ $parents = append $parents (dict "name" $ctx.name) }}{{ end -}}
{{- range .routes }}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {{ printf "%s%s" $ctx.name .suffix }}
  labels:
    {{- include "slate.labels" (dict "root" $root "component" "gateway") | nindent 4 }}
spec:
  parentRefs:
    {{- toYaml $parents | nindent 4 }}
  hostnames:
    - {{ .host | quote }}
  rules:
    {{- if .redirectTo }}
    - filters:
        - type: RequestRedirect
          requestRedirect:
            hostname: {{ .redirectTo | quote }}
            statusCode: 302
    {{- else }}
    - matches:
        - path:
            type: PathPrefix
            value: /
      backendRefs:
        - name: {{ $ctx.service }}
          port: {{ $ctx.port }}
      {{- with $v.gateway.requestTimeout }}
      # Longer than the data planes' long polls (up to 25 s), which Envoy's default of 15 s would cut.
      timeouts:
        request: {{ . }}
      {{- end }}
    {{- end }}
{{- end }}
{{- if $v.gateway.create }}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: {{ $ctx.name }}
  labels:
    {{- include "slate.labels" (dict "root" $root "component" "gateway") | nindent 4 }}
  {{- with (merge (dict) (default (dict) $v.gateway.annotations) $cm) }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  gatewayClassName: {{ $v.gateway.className }}
  listeners:
    {{- range $i, $r := .routes }}
    - name: {{ printf "https-%d" $i }}
      protocol: HTTPS
      port: {{ $v.gateway.listenerPort }}
      hostname: {{ $r.host | quote }}
      tls:
        mode: Terminate
        certificateRefs:
          - kind: Secret
            name: {{ $r.tlsSecret }}
      allowedRoutes:
        namespaces:
          from: Same
    {{- end }}
{{- end }}
{{- end }}
{{- end -}}
