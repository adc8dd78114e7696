{{/* Names and labels (app.kubernetes.io/*; no chart version in selectors). */}}
{{- define "meshhealth.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "meshhealth.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "meshhealth.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{- define "meshhealth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "meshhealth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "meshhealth.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "meshhealth.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mesh-health-exporter
{{- end -}}

{{- define "meshhealth.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "meshhealth.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "meshhealth.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "meshhealth.controlPlaneNamespaces" -}}
{{- dig "istio" "control_plane_namespaces" (list "istio-system") .Values.config | toJson -}}
{{- end -}}

{{/*
Sources that run, as exporter/app.py's active_checks decides: enabled ones; Elasticsearch only with
clusters; without Kubernetes no webhook probe, and istiod only with explicit istiod_urls.
*/}}
{{- define "meshhealth.activeSources" -}}
{{- $c := .Values.config -}}
{{- $active := dict -}}
{{- range $s := list "kubernetes" "istiod" "elasticsearch" "webhook_tls" -}}
{{- if dig "sources" $s "enabled" true $c -}}{{- $_ := set $active $s true -}}{{- end -}}
{{- end -}}
{{- if not (dig "elasticsearch" "clusters" list $c) -}}{{- $_ := unset $active "elasticsearch" -}}{{- end -}}
{{- if not (hasKey $active "kubernetes") -}}
{{- $_ := unset $active "webhook_tls" -}}
{{- if not (dig "istio" "istiod_urls" list $c) -}}{{- $_ := unset $active "istiod" -}}{{- end -}}
{{- end -}}
{{- toJson $active -}}
{{- end -}}

{{/* {"cluster": {group: [resources]}, "controlPlane": {group: [resources]}} for the active checks. */}}
{{- define "meshhealth.rbac" -}}
{{- $data := .Files.Get "files/rbac.json" | fromJson -}}
{{- $sources := include "meshhealth.activeSources" . | fromJson -}}
{{- $cluster := dict -}}
{{- $cp := dict -}}
{{- range $id, $check := $data -}}
{{- if and (hasKey $sources $check.source) (dig "checks" $id "enabled" true $.Values.config) -}}
{{- range $r := $check.resources -}}
{{- $target := $cp -}}
{{- if eq $r.scope "cluster" -}}{{- $target = $cluster -}}{{- end -}}
{{- $have := get $target $r.group | default list -}}
{{- $_ := set $target $r.group (append $have $r.resource | uniq | sortAlpha) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $roles := dict -}}
{{- range $group, $resources := $cp -}}
{{- $granted := get $cluster $group | default list -}}
{{- $left := list -}}
{{- range $resources -}}{{- if not (has . $granted) -}}{{- $left = append $left . -}}{{- end -}}{{- end -}}
{{- if $left -}}{{- $_ := set $roles $group $left -}}{{- end -}}
{{- end -}}
{{- toJson (dict "cluster" $cluster "controlPlane" $roles) -}}
{{- end -}}

{{- define "meshhealth.rules" -}}
{{- range $group := keys . | sortAlpha }}
  - apiGroups: [{{ $group | quote }}]
    resources: {{ get $ $group | toJson }}
    verbs: ["get", "list", "watch"]
{{- end }}
{{- end -}}

{{- define "meshhealth.scheme" -}}
{{- if .Values.webConfig.tls -}}HTTPS{{- else -}}HTTP{{- end -}}
{{- end -}}
