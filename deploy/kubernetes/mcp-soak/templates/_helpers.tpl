{{/* Names, labels and the pod spec shared by the Job and the StatefulSet. */}}

{{- define "mcp-soak.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mcp-soak.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mcp-soak.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcp-soak.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: load-generator
{{- end -}}

{{- define "mcp-soak.labels" -}}
{{ include "mcp-soak.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "mcp-soak.tokenSecret" -}}
{{- .Values.token.existingSecret | default (printf "%s-token" (include "mcp-soak.fullname" .)) -}}
{{- end -}}

{{- define "mcp-soak.validate" -}}
{{- if not (has .Values.mode (list "job" "statefulset")) -}}
{{- fail (printf "mode: expected job or statefulset, got %q" .Values.mode) -}}
{{- end -}}
{{- if lt (int .Values.shards) 1 -}}
{{- fail (printf "shards: expected at least 1, got %v" .Values.shards) -}}
{{- end -}}
{{- end -}}

{{/*
The pod spec. `index` is an environment variable holding this pod's share index (from the Job's
completion index or the StatefulSet's pod index); `runId` is how the run identity is found.
*/}}
{{- define "mcp-soak.podSpec" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: mcp-soak
    image: "{{ $v.image.repository }}:{{ $v.image.tag | default $root.Chart.AppVersion }}"
    imagePullPolicy: {{ $v.image.pullPolicy }}
    {{- if .summary }}
    # A shell only to print the summary to the log after the run; the exit code is mcp-soak's.
    command: ["/bin/sh", "-c"]
    args:
      - |
        summary="${RESULTS_DIR}/shard-${SHARD_INDEX}.json"
        mcp-soak run "$@" --summary "$summary"
        rc=$?
        if [ "${PRINT_SUMMARY}" = "true" ] && [ -f "$summary" ]; then
          echo "----- BEGIN MCP-SOAK SUMMARY shard ${SHARD_INDEX} -----"
          cat "$summary"
          echo "----- END MCP-SOAK SUMMARY -----"
        fi
        exit $rc
      - mcp-soak
    {{- else }}
    # The image's entrypoint is mcp-soak.
    args:
      - run
    {{- end }}
      - --config
      - /config/mcp-soak.toml
      - --instance-share
      - $(SHARD_INDEX)/$(SHARD_COUNT)
      - --metrics-listen
      - 0.0.0.0:{{ $v.metrics.port }}
      {{- if .summary }}
      # The shard's verdict is on its share; the run's verdict is the merged summary's.
      - --no-fail-on-slo
      {{- with $v.job.linger }}
      - --linger
      - {{ . | quote }}
      {{- end }}
      {{- end }}
      {{- if or $v.token.value $v.token.existingSecret }}
      - --auth
      - bearer
      - --token-env
      - MCP_SOAK_TOKEN
      {{- end }}
      {{- range $v.extraArgs }}
      - {{ . | quote }}
      {{- end }}
    env:
      - name: SHARD_INDEX
        {{- toYaml .index | nindent 8 }}
      - name: SHARD_COUNT
        value: {{ $v.shards | quote }}
      - name: MCP_SOAK__RUN__ID
        {{- if $v.runId }}
        value: {{ $v.runId | quote }}
        {{- else }}
        {{- toYaml .runId | nindent 8 }}
        {{- end }}
      - name: PRINT_SUMMARY
        value: {{ $v.results.print | quote }}
      - name: RESULTS_DIR
        value: /results
      {{- if or $v.token.value $v.token.existingSecret }}
      - name: MCP_SOAK_TOKEN
        valueFrom:
          secretKeyRef:
            name: {{ include "mcp-soak.tokenSecret" $root }}
            key: {{ $v.token.key }}
      {{- end }}
      {{- with $v.extraEnv }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    ports:
      - name: metrics
        containerPort: {{ $v.metrics.port }}
        protocol: TCP
    readinessProbe:
      httpGet:
        path: /readyz
        port: metrics
      periodSeconds: 5
    resources:
      {{- toYaml $v.resources | nindent 6 }}
    securityContext:
      {{- toYaml $v.securityContext | nindent 6 }}
    volumeMounts:
      - name: config
        mountPath: /config
        readOnly: true
      - name: results
        mountPath: /results
      - name: tmp
        mountPath: /tmp
volumes:
  - name: config
    configMap:
      name: {{ include "mcp-soak.fullname" $root }}-config
  - name: results
    {{- if and .summary $v.results.existingClaim }}
    persistentVolumeClaim:
      claimName: {{ $v.results.existingClaim }}
    {{- else }}
    emptyDir: {}
    {{- end }}
  - name: tmp
    emptyDir: {}
{{- end -}}
