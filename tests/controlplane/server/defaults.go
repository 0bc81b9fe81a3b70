package main

import (
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The defaulting, validation and conversion of built-in types live in k8s.io/kubernetes, which
// Debian does not package. What follows re-does the part of it that Keyward relies on; each
// function names the kube-apiserver behaviour it mirrors. Everything else is stored as sent.

// defaultSecret mirrors two kube-apiserver behaviours:
//   - SetDefaults_Secret: an empty `type` becomes "Opaque";
//   - the v1 -> internal conversion of Secret: every `stringData` entry is written into `data`
//     (stringData wins over data for the same key) and stringData itself is never stored.
func defaultSecret(obj, _ runtime.Object) {
	s := obj.(*corev1.Secret)
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
	}
	s.StringData = nil
}

// validateSecretUpdate mirrors ValidateSecretUpdate: `type` cannot change, and neither can the
// data of a Secret marked immutable.
func validateSecretUpdate(obj, old runtime.Object) field.ErrorList {
	s, o := obj.(*corev1.Secret), old.(*corev1.Secret)
	var errs field.ErrorList
	if s.Type != o.Type {
		errs = append(errs, field.Invalid(field.NewPath("type"), s.Type, "field is immutable"))
	}
	if o.Immutable != nil && *o.Immutable {
		if s.Immutable == nil || !*s.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
		}
		if !equality.Semantic.DeepEqual(s.Data, o.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
	}
	return errs
}

// secretFields mirrors the Secret field selector `type` (used to list Secrets of one type).
func secretFields(obj runtime.Object) fields.Set {
	return fields.Set{"type": string(obj.(*corev1.Secret).Type)}
}

// coreEventFields mirrors the core/v1 Event field selectors kubectl describe relies on.
func coreEventFields(obj runtime.Object) fields.Set {
	e := obj.(*corev1.Event)
	return fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"type":                           e.Type,
	}
}

// registerFieldSelectors lets the request-side field selector parser accept the extra fields
// above (without a conversion function only metadata.name and metadata.namespace pass).
func registerFieldSelectors(s *runtime.Scheme) {
	extra := map[string]fields.Set{
		"Secret": secretFields(&corev1.Secret{}),
		"Event":  coreEventFields(&corev1.Event{}),
	}
	for kind, known := range extra {
		known := known
		err := s.AddFieldLabelConversionFunc(corev1.SchemeGroupVersion.WithKind(kind), func(label, value string) (string, string, error) {
			if _, ok := known[label]; ok || label == "metadata.name" || label == "metadata.namespace" {
				return label, value, nil
			}
			return "", "", fmt.Errorf("field label not supported: %s", label)
		})
		if err != nil {
			panic(err)
		}
	}
}

// defaultNamespace mirrors SetDefaults_Namespace (the kubernetes.io/metadata.name label) and the
// namespace strategy: a new namespace is Active and carries the "kubernetes" finalizer (the
// namespace controller's, removed once the namespace is empty); updates of the main resource
// never change spec.finalizers (only /finalize does).
func defaultNamespace(obj, old runtime.Object) {
	ns := obj.(*corev1.Namespace)
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[corev1.LabelMetadataName] = ns.Name
	if old != nil {
		ns.Spec.Finalizers = old.(*corev1.Namespace).Spec.Finalizers
		return
	}
	ns.Status.Phase = corev1.NamespaceActive
	if !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
	}
}

// defaultDeployment mirrors the part of SetDefaults_Deployment controllers read: replicas 1.
func defaultDeployment(obj, _ runtime.Object) {
	d := obj.(*appsv1.Deployment)
	if d.Spec.Replicas == nil {
		one := int32(1)
		d.Spec.Replicas = &one
	}
}

// defaultStatefulSet mirrors the part of SetDefaults_StatefulSet controllers read: replicas 1.
func defaultStatefulSet(obj, _ runtime.Object) {
	s := obj.(*appsv1.StatefulSet)
	if s.Spec.Replicas == nil {
		one := int32(1)
		s.Spec.Replicas = &one
	}
}
