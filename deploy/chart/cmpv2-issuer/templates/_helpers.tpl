{{- define "cmpv2-issuer.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cmpv2-issuer.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cmpv2-issuer.labels" -}}
app.kubernetes.io/name: {{ include "cmpv2-issuer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "cmpv2-issuer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cmpv2-issuer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cmpv2-issuer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cmpv2-issuer.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The issuer's rules on namespaced objects: in a ClusterRole, or a Role in watchNamespace. */}}
{{- define "cmpv2-issuer.namespacedRules" -}}
- apiGroups: ["cert-manager.io"]
  resources: ["certificaterequests"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["cert-manager.io"]
  resources: ["certificaterequests/status"]
  verbs: ["patch"]
- apiGroups: ["cmpv2-issuer.dev"]
  resources: ["cmpv2issuers"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["cmpv2-issuer.dev"]
  resources: ["cmpv2issuers/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["secrets", "configmaps"]
  verbs: ["get"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}

{{/* The subject of every binding of the issuer's roles: its ServiceAccount. */}}
{{- define "cmpv2-issuer.subjects" -}}
- kind: ServiceAccount
  name: {{ include "cmpv2-issuer.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end -}}
