package main

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// The status conditions a terminating namespace carries, with the types, reasons and messages of
// kube-controller-manager's namespace controller (clients and people read them).

// contentReport is what one pass of the namespace controller over a namespace's content found.
type contentReport struct {
	discoveryErr error
	deleteErrs   []error
	// remaining counts the objects still there, by resource; finalizers counts them by the
	// finalizers they still carry.
	remaining  map[schema.GroupVersionResource]int
	finalizers map[string]int
}

func (r *contentReport) total() int {
	n := 0
	for _, c := range r.remaining {
		n += c
	}
	return n
}

// err is every error of the pass; nil when there was none.
func (r *contentReport) err() error {
	return errors.Join(append([]error{r.discoveryErr}, r.deleteErrs...)...)
}

// namespaceConditionTypes are the conditions the controller owns, in the order it writes them.
var namespaceConditionTypes = []corev1.NamespaceConditionType{
	corev1.NamespaceDeletionDiscoveryFailure,
	corev1.NamespaceDeletionGVParsingFailure,
	corev1.NamespaceDeletionContentFailure,
	corev1.NamespaceContentRemaining,
	corev1.NamespaceFinalizersRemaining,
}

// conditions: one per type, True with the trouble or False with the all-clear (times unset).
func (r *contentReport) conditions() []corev1.NamespaceCondition {
	out := make([]corev1.NamespaceCondition, 0, len(namespaceConditionTypes))
	problem := func(t corev1.NamespaceConditionType, reason, message string) {
		out = append(out, corev1.NamespaceCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message})
	}
	fine := func(t corev1.NamespaceConditionType, reason, message string) {
		out = append(out, corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Message: message})
	}

	var failed *discovery.ErrGroupDiscoveryFailed
	switch {
	case errors.As(r.discoveryErr, &failed):
		problem(corev1.NamespaceDeletionDiscoveryFailure, "DiscoveryFailed",
			fmt.Sprintf("Discovery failed for some groups, %d failing: %v", len(failed.Groups), r.discoveryErr))
	case r.discoveryErr != nil:
		problem(corev1.NamespaceDeletionDiscoveryFailure, "DiscoveryFailed", r.discoveryErr.Error())
	default:
		fine(corev1.NamespaceDeletionDiscoveryFailure, "ResourcesDiscovered", "All resources successfully discovered")
	}
	// Discovery hands over parsed group versions here, so this one is always clear.
	fine(corev1.NamespaceDeletionGVParsingFailure, "ParsedGroupVersions", "All legacy kube types successfully parsed")

	if len(r.deleteErrs) > 0 {
		msgs := make([]string, len(r.deleteErrs))
		for i, e := range r.deleteErrs {
			msgs[i] = e.Error()
		}
		sort.Strings(msgs)
		problem(corev1.NamespaceDeletionContentFailure, "ContentDeletionFailed",
			fmt.Sprintf("Failed to delete all resource types, %d remaining: %v", len(msgs), strings.Join(msgs, ", ")))
	} else {
		fine(corev1.NamespaceDeletionContentFailure, "ContentDeleted", "All content successfully deleted, may be waiting on finalization")
	}

	var remaining []string
	for gvr, n := range r.remaining {
		if n > 0 {
			remaining = append(remaining, fmt.Sprintf("%s.%s has %d resource instances", gvr.Resource, gvr.Group, n))
		}
	}
	if len(remaining) > 0 {
		sort.Strings(remaining)
		problem(corev1.NamespaceContentRemaining, "SomeResourcesRemain",
			"Some resources are remaining: "+strings.Join(remaining, ", "))
	} else {
		fine(corev1.NamespaceContentRemaining, "ContentRemoved", "All content successfully removed")
	}

	var finalizers []string
	for f, n := range r.finalizers {
		if n > 0 {
			finalizers = append(finalizers, fmt.Sprintf("%s in %d resource instances", f, n))
		}
	}
	if len(finalizers) > 0 {
		sort.Strings(finalizers)
		problem(corev1.NamespaceFinalizersRemaining, "SomeFinalizersRemain",
			"Some content in the namespace has finalizers remaining: "+strings.Join(finalizers, ", "))
	} else {
		fine(corev1.NamespaceFinalizersRemaining, "ContentHasNoFinalizers", "All content-preserving finalizers finished")
	}
	return out
}

// mergeConditions writes want into status: a condition whose status changes gets now as its
// transition time, one that only changes reason or message keeps its time. Reports a change.
func mergeConditions(status *corev1.NamespaceStatus, want []corev1.NamespaceCondition, now metav1.Time) bool {
	changed := false
	for _, w := range want {
		i := slices.IndexFunc(status.Conditions, func(c corev1.NamespaceCondition) bool { return c.Type == w.Type })
		if i < 0 {
			w.LastTransitionTime = now
			status.Conditions = append(status.Conditions, w)
			changed = true
			continue
		}
		have := &status.Conditions[i]
		if have.Status == w.Status && have.Reason == w.Reason && have.Message == w.Message {
			continue
		}
		if have.Status != w.Status {
			have.LastTransitionTime = now
		}
		have.Status, have.Reason, have.Message = w.Status, w.Reason, w.Message
		changed = true
	}
	return changed
}
