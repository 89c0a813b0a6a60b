{{/*
The collector config: the presets' parts, then `config` merged over them, then the presets'
components put into the pipelines (filelog into the logs pipeline's receivers, k8sattributes
first in every traces and logs pipeline's processors, loadbalancing and store into the
exporters of their presets' pipelines, query into the service's extensions).
*/}}
{{- define "collectord.config" -}}
{{- $config := dict }}
{{- if .Values.presets.logsCollection.enabled }}
{{- $config = include "collectord.deepMerge" (dict "dst" $config "src" (include "collectord.logsCollectionConfig" . | fromYaml)) | fromYaml }}
{{- end }}
{{- if .Values.presets.kubernetesAttributes.enabled }}
{{- $config = include "collectord.deepMerge" (dict "dst" $config "src" (include "collectord.kubernetesAttributesConfig" . | fromYaml)) | fromYaml }}
{{- end }}
{{- if .Values.presets.loadBalancing.enabled }}
{{- $config = include "collectord.deepMerge" (dict "dst" $config "src" (include "collectord.loadBalancingConfig" . | fromYaml)) | fromYaml }}
{{- end }}
{{- if .Values.presets.gateway.enabled }}
{{- $config = include "collectord.deepMerge" (dict "dst" $config "src" (include "collectord.gatewayConfig" . | fromYaml)) | fromYaml }}
{{- end }}
{{- $config = include "collectord.deepMerge" (dict "dst" $config "src" .Values.config) | fromYaml }}
{{- $pipelines := dig "service" "pipelines" dict $config }}
{{- if .Values.presets.loadBalancing.enabled }}
{{- include "collectord.addExporter" (dict "pipelines" $pipelines "names" .Values.presets.loadBalancing.pipelines "exporter" "loadbalancing" "preset" "loadBalancing") }}
{{- end }}
{{- if .Values.presets.gateway.enabled }}
{{- include "collectord.addExporter" (dict "pipelines" $pipelines "names" .Values.presets.gateway.pipelines "exporter" "store" "preset" "gateway") }}
{{- $service := index $config "service" }}
{{- $_ := set $service "extensions" (append (default (list) $service.extensions) "query" | uniq) }}
{{- end }}
{{- if .Values.presets.logsCollection.enabled }}
{{- $logs := index $pipelines "logs" }}
{{- if not $logs }}
{{- fail "presets.logsCollection adds filelog to the logs pipeline: config.service.pipelines.logs must exist" }}
{{- end }}
{{- $_ := set $logs "receivers" (append (default (list) $logs.receivers) "filelog" | uniq) }}
{{- end }}
{{- if .Values.presets.kubernetesAttributes.enabled }}
{{- range $id, $pipeline := $pipelines }}
{{- if and $pipeline (has (regexReplaceAll "/.*" $id "") (list "traces" "logs")) }}
{{- $processors := default (list) $pipeline.processors }}
{{- if not (has "k8sattributes" $processors) }}
{{- $_ := set $pipeline "processors" (prepend $processors "k8sattributes") }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/*
Appends `exporter` to the exporters of the pipelines named in `names` (changing `pipelines` in
place); a missing pipeline fails the render. Takes (dict "pipelines" "names" "exporter" "preset").
*/}}
{{- define "collectord.addExporter" -}}
{{- range .names }}
{{- $pipeline := index $.pipelines . }}
{{- if not $pipeline }}
{{- fail (printf "presets.%s adds %s to the %s pipeline: config.service.pipelines.%s must exist" $.preset $.exporter . .) }}
{{- end }}
{{- $_ := set $pipeline "exporters" (append (default (list) $pipeline.exporters) $.exporter | uniq) }}
{{- end }}
{{- end }}

{{/*
dst with src merged over it: maps merge key by key, anything else in src replaces dst's
(false, 0 and "" too, which sprig's mergeOverwrite would skip). Takes (dict "dst" "src").
*/}}
{{- define "collectord.deepMerge" -}}
{{- $dst := deepCopy (default dict .dst) }}
{{- range $key, $value := .src }}
{{- $old := index $dst $key }}
{{- if and (kindIs "map" $value) (kindIs "map" $old) }}
{{- $_ := set $dst $key (include "collectord.deepMerge" (dict "dst" $old "src" $value) | fromYaml) }}
{{- else }}
{{- $_ := set $dst $key $value }}
{{- end }}
{{- end }}
{{- toYaml $dst }}
{{- end }}

{{/* presets.logsCollection: container logs of every pod on the node. */}}
{{- define "collectord.logsCollectionConfig" -}}
receivers:
  filelog:
    include:
      - /var/log/pods/*/*/*.log
    {{- if not .Values.presets.logsCollection.includeCollectorLogs }}
    # The collector's own logs: /var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log
    exclude:
      - /var/log/pods/{{ include "collectord.namespace" . }}_{{ include "collectord.fullname" . }}-*_*/{{ include "collectord.containerName" . }}/*.log
    {{- end }}
    start_at: end
    include_file_path: true
    include_file_name: false
    storage: {{ .Values.state.mountPath }}/filelog
    operators:
      - type: container
{{- end }}

{{/* presets.kubernetesAttributes: the upstream chart's k8sattributes settings. */}}
{{- define "collectord.kubernetesAttributesConfig" -}}
processors:
  k8sattributes:
    auth_type: serviceAccount
    passthrough: false
    {{- if eq .Values.mode "daemonset" }}
    filter:
      node_from_env_var: K8S_NODE_NAME
    {{- end }}
    pod_association:
      - sources:
          - from: resource_attribute
            name: k8s.pod.ip
      - sources:
          - from: resource_attribute
            name: k8s.pod.uid
      - sources:
          - from: connection
    extract:
      metadata:
        - k8s.namespace.name
        - k8s.deployment.name
        - k8s.statefulset.name
        - k8s.daemonset.name
        - k8s.cronjob.name
        - k8s.job.name
        - k8s.node.name
        - k8s.pod.name
        - k8s.pod.uid
        - k8s.pod.start_time
      {{- if .Values.presets.kubernetesAttributes.extractAllPodLabels }}
      labels:
        - tag_name: $$1
          key_regex: (.*)
          from: pod
      {{- end }}
      {{- if .Values.presets.kubernetesAttributes.extractAllPodAnnotations }}
      annotations:
        - tag_name: $$1
          key_regex: (.*)
          from: pod
      {{- end }}
{{- end }}

{{/*
presets.loadBalancing: traces routed by trace id to the gateways behind a headless Service,
with a disk queue on the state volume.
*/}}
{{- define "collectord.loadBalancingConfig" -}}
{{- $preset := .Values.presets.loadBalancing }}
exporters:
  loadbalancing:
    protocol:
      otlp:
        {{- with $preset.tls }}
        tls:
          {{- toYaml . | nindent 10 }}
        {{- end }}
    resolver:
      dns:
        hostname: {{ $preset.gatewayService }}
        port: {{ $preset.port }}
    sending_queue:
      storage: {{ .Values.state.mountPath }}/loadbalancing
{{- end }}

{{/*
presets.gateway: the store on the state volume and the query extension, listening on the
query port, with the other gateways (the headless Service's addresses) as its peers.
*/}}
{{- define "collectord.gatewayConfig" -}}
{{- $query := (include "collectord.ports" . | fromYaml).query }}
exporters:
  store:
    directory: {{ .Values.state.mountPath }}/store
extensions:
  query:
    endpoint: 0.0.0.0:{{ $query.containerPort }}
    peers:
      dns:
        hostname: {{ include "collectord.headlessHost" . }}
        port: {{ $query.containerPort }}
{{- end }}
