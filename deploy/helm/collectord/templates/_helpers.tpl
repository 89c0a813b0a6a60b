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

{{/* "true" in deployment and statefulset modes: the pods are gateways. */}}
{{- define "collectord.gateway" -}}
{{- if ne .Values.mode "daemonset" }}true{{ end }}
{{- end }}

{{/* The headless Service's name: <fullname>-headless, within 63 characters. */}}
{{- define "collectord.headlessName" -}}
{{- printf "%s-headless" (include "collectord.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{/* "true" when the headless Service is rendered. */}}
{{- define "collectord.headlessEnabled" -}}
{{- if and (include "collectord.gateway" .) .Values.headlessService.enabled }}true{{ end }}
{{- end }}

{{/*
The headless Service's DNS name inside the cluster (<name>.<namespace>.svc: the pods' search
path adds the cluster domain, whatever it is).
*/}}
{{- define "collectord.headlessHost" -}}
{{- printf "%s.%s.svc" (include "collectord.headlessName" .) (include "collectord.namespace" .) }}
{{- end }}

{{/* The ports with what the presets open (presets.gateway: query), as YAML. */}}
{{- define "collectord.ports" -}}
{{- $ports := deepCopy .Values.ports }}
{{- if and .Values.presets.gateway.enabled $ports.query }}
{{- $_ := set $ports.query "enabled" true }}
{{- end }}
{{- toYaml $ports }}
{{- end }}

{{/* The preStop sleep in seconds (0: none): gateways only, and only without lifecycleHooks. */}}
{{- define "collectord.preStopSleep" -}}
{{- if and (include "collectord.gateway" .) (not .Values.lifecycleHooks) }}
{{- .Values.shutdown.preStopSleepSeconds | int }}
{{- else }}0{{ end }}
{{- end }}

{{/* terminationGracePeriodSeconds: the value, or the preStop sleep + shutdown timeout + 10. */}}
{{- define "collectord.terminationGracePeriod" -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add (include "collectord.preStopSleep" . | int) (.Values.shutdown.timeoutSeconds | int) 10 }}
{{- else }}
{{- .Values.terminationGracePeriodSeconds | int }}
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
{{- $gateway := include "collectord.gateway" . }}
{{- if and .Values.presets.loadBalancing.enabled (not .Values.presets.loadBalancing.gatewayService) }}
{{- fail "presets.loadBalancing needs presets.loadBalancing.gatewayService: the DNS name of the gateways' headless Service (e.g. collectord-gateway-headless.observability.svc.cluster.local)" }}
{{- end }}
{{- if .Values.presets.gateway.enabled }}
{{- if not $gateway }}
{{- fail "presets.gateway needs mode deployment or statefulset" }}
{{- end }}
{{- if not .Values.headlessService.enabled }}
{{- fail "presets.gateway's query peers resolve the headless Service: set headlessService.enabled=true" }}
{{- end }}
{{- end }}
{{- if and .Values.autoscaling.enabled (not $gateway) }}
{{- fail "autoscaling needs mode deployment or statefulset (a DaemonSet runs one pod per node)" }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- if gt (.Values.autoscaling.minReplicas | int) (.Values.autoscaling.maxReplicas | int) }}
{{- fail (printf "autoscaling.minReplicas (%v) is more than autoscaling.maxReplicas (%v)" .Values.autoscaling.minReplicas .Values.autoscaling.maxReplicas) }}
{{- end }}
{{- if not (or .Values.autoscaling.targetCPUUtilizationPercentage .Values.autoscaling.targetMemoryUtilizationPercentage) }}
{{- fail "autoscaling needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage" }}
{{- end }}
{{- $requests := dig "requests" dict (default dict .Values.resources) }}
{{- if and .Values.autoscaling.targetCPUUtilizationPercentage (not $requests.cpu) }}
{{- fail "autoscaling.targetCPUUtilizationPercentage is a share of the pods' CPU request: set resources.requests.cpu" }}
{{- end }}
{{- if and .Values.autoscaling.targetMemoryUtilizationPercentage (not $requests.memory) }}
{{- fail "autoscaling.targetMemoryUtilizationPercentage is a share of the pods' memory request: set resources.requests.memory" }}
{{- end }}
{{- end }}
{{- if .Values.podDisruptionBudget.enabled }}
{{- if not $gateway }}
{{- fail "podDisruptionBudget needs mode deployment or statefulset (node drains skip DaemonSet pods)" }}
{{- end }}
{{- if and (hasKey .Values.podDisruptionBudget "minAvailable") (hasKey .Values.podDisruptionBudget "maxUnavailable") }}
{{- fail "podDisruptionBudget takes one of minAvailable and maxUnavailable, not both" }}
{{- end }}
{{- end }}
{{- range .Values.command.extraArgs }}
{{- if hasPrefix "--shutdown-timeout" (toString .) }}
{{- fail "command.extraArgs: set shutdown.timeoutSeconds instead of --shutdown-timeout (the grace period is computed from it)" }}
{{- end }}
{{- end }}
{{- $needed := add (include "collectord.preStopSleep" . | int) (.Values.shutdown.timeoutSeconds | int) }}
{{- if lt (include "collectord.terminationGracePeriod" . | int) $needed }}
{{- fail (printf "terminationGracePeriodSeconds (%s) is less than the preStop sleep (%s s) + shutdown.timeoutSeconds (%v): the kubelet would kill collectord while it drains" (include "collectord.terminationGracePeriod" .) (include "collectord.preStopSleep" .) .Values.shutdown.timeoutSeconds) }}
{{- end }}
{{- end }}
