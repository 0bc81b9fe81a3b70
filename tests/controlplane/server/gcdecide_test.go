package main

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDecideDependent(t *testing.T) {
	a := metav1.OwnerReference{Kind: "ConfigMap", Name: "a", UID: "uid-a"}
	b := metav1.OwnerReference{Kind: "ConfigMap", Name: "b", UID: "uid-b"}
	both := []metav1.OwnerReference{a, b}
	cases := []struct {
		name          string
		refs          []metav1.OwnerReference
		states        []ownerState
		hasDependents bool
		finalizers    []string
		want          dependentAction
	}{
		{"owner present", both[:1], []ownerState{ownerPresent}, false, nil,
			dependentAction{verdict: keepDependent}},
		{"every owner present", both, []ownerState{ownerPresent, ownerPresent}, false, nil,
			dependentAction{verdict: keepDependent}},
		{"owner gone: background", both[:1], []ownerState{ownerAbsent}, false, nil,
			dependentAction{verdict: deleteDependent, policy: metav1.DeletePropagationBackground}},
		{"every owner gone", both, []ownerState{ownerAbsent, ownerAbsent}, true, nil,
			dependentAction{verdict: deleteDependent, policy: metav1.DeletePropagationBackground}},
		{"one of two gone: its reference goes", both, []ownerState{ownerAbsent, ownerPresent}, false, nil,
			dependentAction{verdict: dropOwnerRefs, keep: []metav1.OwnerReference{b}}},
		{"one present, one deleting dependents: that reference goes", both, []ownerState{ownerPresent, ownerDeletingDependents}, false, nil,
			dependentAction{verdict: dropOwnerRefs, keep: []metav1.OwnerReference{a}}},
		{"owner deleting dependents, dependent owns nothing", both[:1], []ownerState{ownerDeletingDependents}, false, nil,
			dependentAction{verdict: deleteDependent, policy: metav1.DeletePropagationBackground}},
		{"owner deleting dependents, dependent owns objects: foreground", both[:1], []ownerState{ownerDeletingDependents}, true, nil,
			dependentAction{verdict: deleteDependent, policy: metav1.DeletePropagationForeground}},
		{"gone owner, dependent asks to orphan", both[:1], []ownerState{ownerAbsent}, false, []string{metav1.FinalizerOrphanDependents},
			dependentAction{verdict: deleteDependent, policy: metav1.DeletePropagationOrphan}},
		{"gone owner, dependent asks for foreground", both[:1], []ownerState{ownerAbsent}, false, []string{"x", metav1.FinalizerDeleteDependents},
			dependentAction{verdict: deleteDependent, policy: metav1.DeletePropagationForeground}},
		{"invalid reference: left alone", both, []ownerState{ownerAbsent, ownerInvalid}, false, nil,
			dependentAction{verdict: keepDependent}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := decideDependent(c.refs, c.states, c.hasDependents, c.finalizers)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}
