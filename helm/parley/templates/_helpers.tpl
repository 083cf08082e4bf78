{{/*
Chart name, also the value of app.kubernetes.io/name that cluster bootstrap selects peers by.
*/}}
{{- define "parley.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's resources.
*/}}
{{- define "parley.fullname" -}}
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

{{- define "parley.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Version the nodes run: pekko.cluster.app-version and the version label.
*/}}
{{- define "parley.appVersion" -}}
{{- .Values.cluster.appVersion | default .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "parley.selectorLabels" -}}
app.kubernetes.io/name: {{ include "parley.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "parley.labels" -}}
helm.sh/chart: {{ include "parley.chart" . }}
{{ include "parley.selectorLabels" . }}
app.kubernetes.io/version: {{ include "parley.appVersion" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: parley
{{- end }}

{{- define "parley.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "parley.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The Secret holding every credential; the chart never creates it.
*/}}
{{- define "parley.existingSecret" -}}
{{- required "existingSecret is required: create a Secret with the keys listed in values.yaml (secretKeys) and set existingSecret to its name" .Values.existingSecret }}
{{- end }}

{{/*
Settings that cannot work together fail the rendering instead of a rollout.
*/}}
{{- define "parley.validate" -}}
{{- if lt (int .Values.replicaCount) (int .Values.cluster.requiredContactPoints) }}
{{- fail (printf "cluster.requiredContactPoints (%d) exceeds replicaCount (%d): cluster bootstrap would never form a cluster" (int .Values.cluster.requiredContactPoints) (int .Values.replicaCount)) }}
{{- end }}
{{- end }}
