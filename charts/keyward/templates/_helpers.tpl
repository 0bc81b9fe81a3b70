{{/* Chart name, overridable. */}}
{{- define "keyward.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects: release name, plus the chart name unless it already contains it. */}}
{{- define "keyward.fullname" -}}
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

{{/* Labels that select the operator pods; never change after install. */}}
{{- define "keyward.selectorLabels" -}}
app.kubernetes.io/name: {{ include "keyward.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "keyward.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "keyward.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: keyward
{{- end }}

{{- define "keyward.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "keyward.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference: repository, then @digest when set, else :tag (default appVersion). */}}
{{- define "keyward.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding the ClusterSecretStore's credentials. */}}
{{- define "keyward.credentialsSecretName" -}}
{{- default .Values.clusterSecretStore.credentials.secretName .Values.clusterSecretStore.credentials.existingSecret }}
{{- end }}

{{/*
Rules for the namespaced objects the operator works on. Used by the ClusterRole (all namespaces) or
by one Role per watched namespace. Each verb is one the operator calls:
- managedsecrets: watch/list (controller), get, patch (finalizer add/remove by JSON patch);
  status: patch (server-side apply of status);
  finalizers: update. Deliberate extra: setting an ownerReference with blockOwnerDeletion on the target
  Secret (creation policy Owner) needs it when the OwnerReferencesPermissionEnforcement admission plugin is on.
- secretstores: get/list/watch; status: patch (Ready condition).
- secrets: get/list/watch (targets and fromSecret sources), create/patch (server-side apply of targets),
  delete (deletion policy Delete).
- events.k8s.io events: create, and patch (kube-runtime's recorder patches a repeated event's series).
*/}}
{{- define "keyward.namespacedRules" -}}
- apiGroups: ["keyward.dev"]
  resources: ["managedsecrets"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["keyward.dev"]
  resources: ["managedsecrets/status"]
  verbs: ["patch"]
- apiGroups: ["keyward.dev"]
  resources: ["managedsecrets/finalizers"]
  verbs: ["update"]
# ManagedKeys: no finalizer (Keyward never deletes a key), so no patch of the object itself.
- apiGroups: ["keyward.dev"]
  resources: ["managedkeys"]
  verbs: ["list", "watch"]
- apiGroups: ["keyward.dev"]
  resources: ["managedkeys/status"]
  verbs: ["patch"]
- apiGroups: ["keyward.dev"]
  resources: ["secretstores"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["keyward.dev"]
  resources: ["secretstores/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
# spec.rollout: read the workloads that consume a target Secret and set one pod-template
# annotation to restart them.
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["get", "list", "patch"]
{{- end }}
