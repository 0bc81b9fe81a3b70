package main

import (
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// builtinScheme holds the k8s.io/api types this server serves. kube-apiserver converts each
// versioned type to a separate internal type that lives in k8s.io/kubernetes (not packaged);
// here the versioned Go type is registered as its own internal version too, so "conversion"
// only rewrites apiVersion/kind.
var (
	builtinScheme = runtime.NewScheme()
	builtinCodecs = serializer.NewCodecFactory(builtinScheme)
)

// servedGroupVersions lists the versioned groups in the order they are preferred.
var servedGroupVersions = []schema.GroupVersion{
	corev1.SchemeGroupVersion,
	appsv1.SchemeGroupVersion,
	coordinationv1.SchemeGroupVersion,
	eventsv1.SchemeGroupVersion,
	rbacv1.SchemeGroupVersion,
	policyv1.SchemeGroupVersion,
	networkingv1.SchemeGroupVersion,
}

func init() {
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, coordinationv1.AddToScheme, eventsv1.AddToScheme,
		rbacv1.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme,
	} {
		if err := add(builtinScheme); err != nil {
			panic(err)
		}
	}
	// The legacy "v1" group needs the meta types (Status, WatchEvent, options) as well.
	metav1.AddToGroupVersion(builtinScheme, schema.GroupVersion{Group: "", Version: "v1"})
	for _, r := range builtinResources {
		internal := schema.GroupVersion{Group: r.gv.Group, Version: runtime.APIVersionInternal}
		builtinScheme.AddKnownTypes(internal, r.newObj(), r.newList())
	}
	for _, gv := range servedGroupVersions {
		if err := builtinScheme.SetVersionPriority(gv); err != nil {
			panic(err)
		}
	}
	registerFieldSelectors(builtinScheme)
}
