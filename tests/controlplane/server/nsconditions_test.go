package main

import (
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

func conditionOf(conds []corev1.NamespaceCondition, t corev1.NamespaceConditionType) corev1.NamespaceCondition {
	for _, c := range conds {
		if c.Type == t {
			return c
		}
	}
	return corev1.NamespaceCondition{}
}

func TestContentReportConditions(t *testing.T) {
	secrets := schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	widgets := schema.GroupVersionResource{Group: "smoke.keyward.dev", Version: "v1", Resource: "widgets"}
	type want struct {
		status  corev1.ConditionStatus
		reason  string
		message string
	}
	cases := []struct {
		name   string
		report contentReport
		want   map[corev1.NamespaceConditionType]want
	}{
		{"empty namespace", contentReport{}, map[corev1.NamespaceConditionType]want{
			corev1.NamespaceDeletionDiscoveryFailure: {corev1.ConditionFalse, "ResourcesDiscovered", "All resources successfully discovered"},
			corev1.NamespaceDeletionGVParsingFailure: {corev1.ConditionFalse, "ParsedGroupVersions", "All legacy kube types successfully parsed"},
			corev1.NamespaceDeletionContentFailure:   {corev1.ConditionFalse, "ContentDeleted", "All content successfully deleted, may be waiting on finalization"},
			corev1.NamespaceContentRemaining:         {corev1.ConditionFalse, "ContentRemoved", "All content successfully removed"},
			corev1.NamespaceFinalizersRemaining:      {corev1.ConditionFalse, "ContentHasNoFinalizers", "All content-preserving finalizers finished"},
		}},
		{"objects held by finalizers", contentReport{
			remaining:  map[schema.GroupVersionResource]int{widgets: 2, secrets: 1},
			finalizers: map[string]int{"example.com/b": 1, "example.com/a": 2},
		}, map[corev1.NamespaceConditionType]want{
			corev1.NamespaceContentRemaining: {corev1.ConditionTrue, "SomeResourcesRemain",
				"Some resources are remaining: secrets. has 1 resource instances, widgets.smoke.keyward.dev has 2 resource instances"},
			corev1.NamespaceFinalizersRemaining: {corev1.ConditionTrue, "SomeFinalizersRemain",
				"Some content in the namespace has finalizers remaining: example.com/a in 2 resource instances, example.com/b in 1 resource instances"},
		}},
		{"failures", contentReport{
			discoveryErr: &discovery.ErrGroupDiscoveryFailed{Groups: map[schema.GroupVersion]error{{Group: "x", Version: "v1"}: errors.New("boom")}},
			deleteErrs:   []error{errors.New("b failed"), errors.New("a failed")},
		}, map[corev1.NamespaceConditionType]want{
			corev1.NamespaceDeletionContentFailure: {corev1.ConditionTrue, "ContentDeletionFailed", "Failed to delete all resource types, 2 remaining: a failed, b failed"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.report.conditions()
			if len(got) != len(namespaceConditionTypes) {
				t.Fatalf("%d conditions, want one of each of %d types", len(got), len(namespaceConditionTypes))
			}
			for typ, w := range c.want {
				g := conditionOf(got, typ)
				if g.Status != w.status || g.Reason != w.reason || g.Message != w.message {
					t.Errorf("%s: got %s/%s/%q, want %s/%s/%q", typ, g.Status, g.Reason, g.Message, w.status, w.reason, w.message)
				}
			}
		})
	}
	failed := contentReport{discoveryErr: &discovery.ErrGroupDiscoveryFailed{Groups: map[schema.GroupVersion]error{{Group: "x", Version: "v1"}: errors.New("boom")}}}
	if g := conditionOf(failed.conditions(), corev1.NamespaceDeletionDiscoveryFailure); g.Status != corev1.ConditionTrue || g.Reason != "DiscoveryFailed" {
		t.Errorf("discovery failure: %+v", g)
	}
}

func TestMergeConditions(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	held := contentReport{remaining: map[schema.GroupVersionResource]int{{Resource: "secrets"}: 1}, finalizers: map[string]int{"f": 1}}
	status := corev1.NamespaceStatus{}
	if !mergeConditions(&status, held.conditions(), t0) {
		t.Fatal("first write is a change")
	}
	if mergeConditions(&status, held.conditions(), t1) {
		t.Error("the same conditions again are no change (no write, no event)")
	}
	more := contentReport{remaining: map[schema.GroupVersionResource]int{{Resource: "secrets"}: 2}, finalizers: map[string]int{"f": 2}}
	if !mergeConditions(&status, more.conditions(), t1) {
		t.Error("a new message is a change")
	}
	if c := conditionOf(status.Conditions, corev1.NamespaceContentRemaining); !c.LastTransitionTime.Equal(&t0) {
		t.Errorf("same status keeps its transition time, got %v", c.LastTransitionTime)
	}
	empty := contentReport{}
	mergeConditions(&status, empty.conditions(), t1)
	c := conditionOf(status.Conditions, corev1.NamespaceContentRemaining)
	if c.Status != corev1.ConditionFalse || !c.LastTransitionTime.Equal(&t1) {
		t.Errorf("cleared condition: %+v", c)
	}
	if len(status.Conditions) != len(namespaceConditionTypes) {
		t.Errorf("one condition per type, got %d", len(status.Conditions))
	}
}
