{{/* Names, labels and the few decisions every template shares. */}}

{{- define "collectord.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fullname: fullnameOverride, else the release name when it already holds the chart name,
else <release>-<name>; at most 63 characters (a DNS label).
*/}}
{{- define "collectord.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "collectord.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{/* The container's name, also the directory of its logs under /var/log/pods/<pod>/. */}}
{{- define "collectord.containerName" -}}
{{- include "collectord.name" . | lower }}
{{- end }}

{{- define "collectord.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "collectord.selectorLabels" -}}
app.kubernetes.io/name: {{ include "collectord.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "collectord.component" -}}
{{- if eq .Values.mode "daemonset" }}agent{{ else }}gateway{{ end }}
{{- end }}

{{- define "collectord.labels" -}}
helm.sh/chart: {{ include "collectord.chart" . }}
{{ include "collectord.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/component: {{ include "collectord.component" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.additionalLabels }}
{{ tpl (toYaml .) $ }}
{{- end }}
{{- end }}

{{- define "collectord.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "collectord.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "collectord.clusterRoleName" -}}
{{- default (include "collectord.fullname" .) .Values.clusterRole.name }}
{{- end }}

{{- define "collectord.clusterRoleBindingName" -}}
{{- default (include "collectord.fullname" .) .Values.clusterRole.clusterRoleBinding.name }}
{{- end }}

{{/* "true" when a ClusterRole (and binding) is rendered: a preset or a resolver needs one, or asked for. */}}
{{- define "collectord.clusterRoleEnabled" -}}
{{- if or .Values.clusterRole.create .Values.presets.kubernetesAttributes.enabled (include "collectord.endpointSlicesRule" .) }}true{{ end }}
{{- end }}

{{/*
"true" when the ClusterRole gets get/list/watch on EndpointSlices: clusterRole.endpointSlices
is true, or auto and the config has a `k8s` resolver (an exporter loadbalancing[/name] with
resolver.k8s, an extension query[/name] with peers.k8s).
*/}}
{{- define "collectord.endpointSlicesRule" -}}
{{- $mode := toString .Values.clusterRole.endpointSlices }}
{{- if eq $mode "true" }}true
{{- else if eq $mode "auto" }}
{{- $config := include "collectord.config" . | fromYaml }}
{{- $found := false }}
{{- range $id, $exporter := (default dict $config.exporters) }}
{{- if and (eq (regexReplaceAll "/.*" $id "") "loadbalancing") (kindIs "map" $exporter) }}
{{- if and (kindIs "map" $exporter.resolver) (hasKey (default dict $exporter.resolver) "k8s") }}{{ $found = true }}{{ end }}
{{- end }}
{{- end }}
{{- range $id, $extension := (default dict $config.extensions) }}
{{- if and (eq (regexReplaceAll "/.*" $id "") "query") (kindIs "map" $extension) }}
{{- if and (kindIs "map" $extension.peers) (hasKey (default dict $extension.peers) "k8s") }}{{ $found = true }}{{ end }}
{{- end }}
{{- end }}
{{- if $found }}true{{ end }}
{{- end }}
{{- end }}

{{- define "collectord.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* The state directory on the node (daemonset mode). */}}
{{- define "collectord.stateHostPath" -}}
{{- if .Values.state.hostPath }}
{{- .Values.state.hostPath }}
{{- else }}
{{- printf "/var/lib/collectord/%s_%s" (include "collectord.namespace" .) (include "collectord.fullname" .) }}
{{- end }}
{{- end }}

{{/* "true" when the statefulset keeps its state in a volume claim template named "state". */}}
{{- define "collectord.stateClaim" -}}
{{- if eq .Values.mode "statefulset" }}
{{- range .Values.statefulset.volumeClaimTemplates }}
{{- if eq .metadata.name "state" }}true{{ end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Fails the render on values that cannot work together. */}}
{{- define "collectord.validateValues" -}}
{{- if not (has .Values.mode (list "daemonset" "deployment" "statefulset")) }}
{{- fail (printf "mode must be daemonset, deployment or statefulset (is %q)" .Values.mode) }}
{{- end }}
{{- if and .Values.presets.logsCollection.enabled (ne .Values.mode "daemonset") }}
{{- fail "presets.logsCollection reads the node's /var/log/pods: it needs mode daemonset (set presets.logsCollection.enabled=false for other modes)" }}
{{- end }}
{{- if not (has (toString .Values.clusterRole.endpointSlices) (list "auto" "true" "false")) }}
{{- fail (printf "clusterRole.endpointSlices must be auto, true or false (is %v)" .Values.clusterRole.endpointSlices) }}
{{- end }}
{{- if and (not .Values.configMap.create) (not .Values.configMap.existingName) }}
{{- fail "configMap.create=false needs configMap.existingName" }}
{{- end }}
{{- end }}
