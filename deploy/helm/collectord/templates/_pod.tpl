{{/* The pod template every mode shares. */}}
{{- define "collectord.podTemplate" -}}
{{- $agent := eq .Values.mode "daemonset" -}}
{{- $preStopSleep := include "collectord.preStopSleep" . | int -}}
metadata:
  annotations:
    checksum/config: {{ include "collectord.config" . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- tpl (toYaml .) $ | nindent 4 }}
    {{- end }}
  labels:
    {{- include "collectord.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- tpl (toYaml .) $ | nindent 4 }}
    {{- end }}
spec:
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  serviceAccountName: {{ include "collectord.serviceAccountName" . }}
  # The API token only where a preset talks to the API server.
  automountServiceAccountToken: {{ eq (include "collectord.clusterRoleEnabled" .) "true" }}
  {{- $podSecurityContext := deepCopy .Values.podSecurityContext }}
  {{- if .Values.presets.logsCollection.enabled }}
  {{- /* Container log files are root:root, mode 0640: readable through group 0. */}}
  {{- $_ := set $podSecurityContext "supplementalGroups" (append (default (list) $podSecurityContext.supplementalGroups) 0 | uniq) }}
  {{- end }}
  {{- with $podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- if .Values.hostNetwork }}
  hostNetwork: true
  {{- end }}
  {{- with .Values.dnsPolicy }}
  dnsPolicy: {{ . }}
  {{- end }}
  {{- with .Values.dnsConfig }}
  dnsConfig:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- $fixOwnership := and $agent .Values.state.fixOwnership }}
  {{- if or $fixOwnership .Values.initContainers }}
  initContainers:
    {{- if $fixOwnership }}
    {{- $uid := .Values.securityContext.runAsUser | default .Values.podSecurityContext.runAsUser | default 65532 }}
    {{- $gid := .Values.securityContext.runAsGroup | default .Values.podSecurityContext.runAsGroup | default $uid }}
    # The kubelet creates the state directory owned by root: give it to the collector's user.
    - name: state-ownership
      image: {{ include "collectord.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      command: [chown, -R, "{{ $uid }}:{{ $gid }}", {{ .Values.state.mountPath | quote }}]
      securityContext:
        runAsUser: 0
        runAsNonRoot: false
        readOnlyRootFilesystem: true
        allowPrivilegeEscalation: false
        capabilities:
          drop: [ALL]
          add: [CHOWN, DAC_READ_SEARCH]
      resources:
        requests:
          cpu: 10m
          memory: 16Mi
        limits:
          memory: 32Mi
      volumeMounts:
        - name: state
          mountPath: {{ .Values.state.mountPath }}
    {{- end }}
    {{- with .Values.initContainers }}
    {{- tpl (toYaml .) $ | nindent 4 }}
    {{- end }}
  {{- end }}
  containers:
    - name: {{ include "collectord.containerName" . }}
      image: {{ include "collectord.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - --config
        - /etc/collectord/collector.yaml
        - --shutdown-timeout
        - {{ printf "%ds" (.Values.shutdown.timeoutSeconds | int) }}
        {{- range .Values.command.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      env:
        - name: K8S_NODE_NAME
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
        - name: K8S_POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: K8S_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        {{- with .Values.extraEnvs }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .Values.extraEnvsFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      ports:
        {{- range $key, $port := include "collectord.ports" . | fromYaml }}
        {{- if $port.enabled }}
        - name: {{ $key }}
          containerPort: {{ $port.containerPort }}
          protocol: {{ $port.protocol | default "TCP" }}
          {{- if and $agent $port.hostPort }}
          hostPort: {{ $port.hostPort }}
          {{- end }}
        {{- end }}
        {{- end }}
      {{- if .Values.lifecycleHooks }}
      lifecycle:
        {{- toYaml .Values.lifecycleHooks | nindent 8 }}
      {{- else if gt $preStopSleep 0 }}
      # Out of the Services' endpoints already: wait until the agents' resolvers drop this
      # pod, then SIGTERM starts the drain (--shutdown-timeout).
      lifecycle:
        preStop:
          exec:
            command: [/bin/sleep, "{{ $preStopSleep }}"]
      {{- end }}
      {{- with .Values.livenessProbe }}
      livenessProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.readinessProbe }}
      readinessProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.startupProbe }}
      startupProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: config
          mountPath: /etc/collectord
          readOnly: true
        - name: state
          mountPath: {{ .Values.state.mountPath }}
        {{- if .Values.presets.logsCollection.enabled }}
        - name: varlogpods
          mountPath: /var/log/pods
          readOnly: true
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- tpl (toYaml .) $ | nindent 8 }}
        {{- end }}
    {{- with .Values.extraContainers }}
    {{- tpl (toYaml .) $ | nindent 4 }}
    {{- end }}
  # preStop sleep + --shutdown-timeout + a margin: the kubelet never kills a draining collector.
  terminationGracePeriodSeconds: {{ include "collectord.terminationGracePeriod" . }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ .Values.configMap.existingName | default (include "collectord.fullname" .) }}
        items:
          - key: collector.yaml
            path: collector.yaml
    {{- if $agent }}
    # Checkpoints and disk queues on the node, so a new pod resumes where the last one stopped.
    - name: state
      hostPath:
        path: {{ include "collectord.stateHostPath" . }}
        type: DirectoryOrCreate
    {{- else if not (include "collectord.stateClaim" .) }}
    - name: state
      emptyDir: {}
    {{- end }}
    {{- if .Values.presets.logsCollection.enabled }}
    - name: varlogpods
      hostPath:
        path: /var/log/pods
        type: Directory
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- tpl (toYaml .) $ | nindent 4 }}
    {{- end }}
{{- end }}
