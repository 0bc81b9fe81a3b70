package main

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMarkTerminating(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	policy := func(p metav1.DeletionPropagation) *metav1.DeletionPropagation { return &p }
	boolean := func(b bool) *bool { return &b }
	cases := []struct {
		name       string
		finalizers []string
		options    metav1.DeleteOptions
		want       []string
	}{
		{"no options keep none", nil, metav1.DeleteOptions{}, nil},
		{"no options keep what is there", []string{"x", metav1.FinalizerOrphanDependents}, metav1.DeleteOptions{}, []string{"x", metav1.FinalizerOrphanDependents}},
		{"background", []string{"x"}, metav1.DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationBackground)}, []string{"x"}},
		{"background drops both", []string{metav1.FinalizerOrphanDependents, metav1.FinalizerDeleteDependents}, metav1.DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationBackground)}, []string{}},
		{"orphan", nil, metav1.DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationOrphan)}, []string{metav1.FinalizerOrphanDependents}},
		{"foreground", nil, metav1.DeleteOptions{PropagationPolicy: policy(metav1.DeletePropagationForeground)}, []string{metav1.FinalizerDeleteDependents}},
		{"orphanDependents true", nil, metav1.DeleteOptions{OrphanDependents: boolean(true)}, []string{metav1.FinalizerOrphanDependents}},
		{"orphanDependents false", nil, metav1.DeleteOptions{OrphanDependents: boolean(false)}, []string{metav1.FinalizerDeleteDependents}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Finalizers: c.finalizers}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
			markTerminating(ns, &c.options, now)
			if ns.Status.Phase != corev1.NamespaceTerminating || ns.DeletionTimestamp == nil || !ns.DeletionTimestamp.Time.Equal(now) {
				t.Errorf("not terminating: %+v", ns)
			}
			if len(ns.Finalizers) != len(c.want) || (len(c.want) > 0 && !reflect.DeepEqual(ns.Finalizers, c.want)) {
				t.Errorf("finalizers %v, want %v", ns.Finalizers, c.want)
			}
		})
	}
	earlier := metav1.NewTime(now.Add(-time.Hour))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &earlier}}
	markTerminating(ns, &metav1.DeleteOptions{}, now)
	if !ns.DeletionTimestamp.Equal(&earlier) {
		t.Errorf("a second delete keeps the first deletionTimestamp, got %v", ns.DeletionTimestamp)
	}
}

func TestDefaultNamespace(t *testing.T) {
	created := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"example.com/x"}}}
	defaultNamespace(created, nil)
	if !reflect.DeepEqual(created.Spec.Finalizers, []corev1.FinalizerName{"example.com/x", corev1.FinalizerKubernetes}) {
		t.Errorf("create adds the kubernetes finalizer: %v", created.Spec.Finalizers)
	}
	if created.Status.Phase != corev1.NamespaceActive || created.Labels[corev1.LabelMetadataName] != "a" {
		t.Errorf("create: %+v", created)
	}
	updated := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}}
	defaultNamespace(updated, created)
	if !reflect.DeepEqual(updated.Spec.Finalizers, created.Spec.Finalizers) {
		t.Errorf("an update of the main resource keeps spec.finalizers: %v", updated.Spec.Finalizers)
	}
}
