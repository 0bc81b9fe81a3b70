package main

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// What the garbage collector does with a dependent, decided from what it found out about each
// owner; the rules of kube-controller-manager's garbage collector for objects not being deleted.

// ownerState is what a live lookup of one owner reference found.
type ownerState int

const (
	// ownerPresent: the owner exists with the referenced UID and does not wait for its dependents.
	ownerPresent ownerState = iota
	// ownerAbsent: no object by that name, or one with another UID.
	ownerAbsent
	// ownerDeletingDependents: the owner is being deleted in the foreground (it waits for its
	// dependents to go first).
	ownerDeletingDependents
	// ownerInvalid: a cluster-scoped dependent naming a namespaced owner, which can never
	// resolve; the garbage collector leaves such an object alone.
	ownerInvalid
)

type dependentVerdict int

const (
	keepDependent dependentVerdict = iota
	// dropOwnerRefs: some owner is present; the references to absent owners and to owners
	// deleting their dependents are removed, the dependent stays.
	dropOwnerRefs
	deleteDependent
)

type dependentAction struct {
	verdict dependentVerdict
	// keep is the owner references left after dropOwnerRefs.
	keep []metav1.OwnerReference
	// policy is the propagation policy of deleteDependent.
	policy metav1.DeletionPropagation
}

// decideDependent: refs are the dependent's owner references and states what was found for each
// (same order); hasDependents tells whether the dependent owns objects itself.
func decideDependent(refs []metav1.OwnerReference, states []ownerState, hasDependents bool, finalizers []string) dependentAction {
	var keep []metav1.OwnerReference
	waiting := false
	for i, ref := range refs {
		switch states[i] {
		case ownerInvalid:
			return dependentAction{verdict: keepDependent}
		case ownerPresent:
			keep = append(keep, ref)
		case ownerDeletingDependents:
			waiting = true
		}
	}
	switch {
	case len(keep) == len(refs):
		return dependentAction{verdict: keepDependent}
	case len(keep) > 0:
		return dependentAction{verdict: dropOwnerRefs, keep: keep}
	case waiting && hasDependents:
		// Its own dependents must go first too, so the owner waiting for it sees them go.
		return dependentAction{verdict: deleteDependent, policy: metav1.DeletePropagationForeground}
	}
	// Every owner is gone or going: the dependent goes, honouring a propagation finalizer it
	// already carries.
	policy := metav1.DeletePropagationBackground
	switch {
	case slices.Contains(finalizers, metav1.FinalizerOrphanDependents):
		policy = metav1.DeletePropagationOrphan
	case slices.Contains(finalizers, metav1.FinalizerDeleteDependents):
		policy = metav1.DeletePropagationForeground
	}
	return dependentAction{verdict: deleteDependent, policy: policy}
}
