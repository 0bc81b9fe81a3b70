package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// The garbage collector of kube-controller-manager, for ownerReferences by UID: a dependent
// whose owners are all gone is deleted (background propagation), foreground deletion (the
// foregroundDeletion finalizer: dependents first, blockOwnerDeletion honoured) and orphaning
// (the orphan finalizer: owner references removed from the dependents) are handled as well.
//
// The graph of owners and dependents is built from the resource monitors and only says whom to
// look at; every decision is taken on live reads.

// node is one object of the graph.
type node struct {
	resource   servedResource
	namespace  string
	name       string
	uid        types.UID
	owners     []metav1.OwnerReference
	deleting   bool
	finalizers []string
}

func newNode(ev objectEvent) *node {
	return &node{
		resource:   ev.resource,
		namespace:  ev.obj.Namespace,
		name:       ev.obj.Name,
		uid:        ev.obj.UID,
		owners:     ev.obj.OwnerReferences,
		deleting:   ev.obj.DeletionTimestamp != nil,
		finalizers: ev.obj.Finalizers,
	}
}

func (n *node) deletingDependents() bool {
	return n.deleting && slices.Contains(n.finalizers, metav1.FinalizerDeleteDependents)
}

func (n *node) orphaning() bool {
	return n.deleting && slices.Contains(n.finalizers, metav1.FinalizerOrphanDependents)
}

// dependencyGraph: nodes by UID, and for every owner UID (seen or not) its dependents.
type dependencyGraph struct {
	mu         sync.Mutex
	nodes      map[types.UID]*node
	dependents map[types.UID]sets.Set[types.UID]
}

// upsert stores n and returns the node it replaced (nil for a new one) and whether some owner
// of n has never been seen.
func (g *dependencyGraph) upsert(n *node) (old *node, unknownOwner bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	old = g.nodes[n.uid]
	if old != nil {
		g.unlink(old)
	}
	g.nodes[n.uid] = n
	for _, ref := range n.owners {
		deps := g.dependents[ref.UID]
		if deps == nil {
			deps = sets.New[types.UID]()
			g.dependents[ref.UID] = deps
		}
		deps.Insert(n.uid)
		if g.nodes[ref.UID] == nil {
			unknownOwner = true
		}
	}
	return old, unknownOwner
}

// remove drops a node and returns it (nil when unknown) with the UIDs of its dependents.
func (g *dependencyGraph) remove(uid types.UID) (*node, []types.UID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.nodes[uid]
	if n == nil {
		return nil, nil
	}
	g.unlink(n)
	delete(g.nodes, uid)
	return n, sets.List(g.dependents[uid])
}

// unlink removes n from its owners' dependents (the caller holds the lock).
func (g *dependencyGraph) unlink(n *node) {
	for _, ref := range n.owners {
		if deps := g.dependents[ref.UID]; deps != nil {
			deps.Delete(n.uid)
			if deps.Len() == 0 {
				delete(g.dependents, ref.UID)
			}
		}
	}
}

func (g *dependencyGraph) get(uid types.UID) *node {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.nodes[uid]
}

// dependentsOf lists the dependents of an owner that the graph knows.
func (g *dependencyGraph) dependentsOf(owner types.UID) []*node {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []*node
	for uid := range g.dependents[owner] {
		if n := g.nodes[uid]; n != nil {
			out = append(out, n)
		}
	}
	return out
}

// blockingDependents are the dependents whose reference to owner sets blockOwnerDeletion.
func (g *dependencyGraph) blockingDependents(owner types.UID) []*node {
	var out []*node
	for _, n := range g.dependentsOf(owner) {
		for _, ref := range n.owners {
			if ref.UID == owner && ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
				out = append(out, n)
				break
			}
		}
	}
	return out
}

// unseenOwners are owner UIDs some dependent names but no monitor has reported.
func (g *dependencyGraph) unseenOwners() []types.UID {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []types.UID
	for uid := range g.dependents {
		if g.nodes[uid] == nil {
			out = append(out, uid)
		}
	}
	return out
}

// gcTask is one item of the collector's queue: look at a dependent (or at an owner deleting
// its dependents), or orphan an owner's dependents.
type gcTask struct {
	uid    types.UID
	orphan bool
}

type garbageCollector struct {
	metadata metadata.Interface
	monitors *resourceMonitors
	graph    *dependencyGraph
	queue    workqueue.TypedRateLimitingInterface[gcTask]
}

func newGarbageCollector(md metadata.Interface, monitors *resourceMonitors) *garbageCollector {
	return &garbageCollector{
		metadata: md,
		monitors: monitors,
		graph:    &dependencyGraph{nodes: map[types.UID]*node{}, dependents: map[types.UID]sets.Set[types.UID]{}},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[gcTask](),
			workqueue.TypedRateLimitingQueueConfig[gcTask]{Name: "garbage-collector"}),
	}
}

// observe keeps the graph in step with a monitor event and queues whoever it concerns.
func (gc *garbageCollector) observe(ev objectEvent) {
	if ev.typ == objectDeleted {
		gone, dependents := gc.graph.remove(ev.obj.UID)
		if gone == nil {
			return
		}
		for _, uid := range dependents {
			gc.queue.Add(gcTask{uid: uid})
		}
		gc.queueOwnersDeletingDependents(gone.owners)
		return
	}
	n := newNode(ev)
	old, unknownOwner := gc.graph.upsert(n)
	ownersChanged := old == nil || !slices.Equal(ownerUIDs(old.owners), ownerUIDs(n.owners)) || !sameBlocking(old.owners, n.owners)
	if ownersChanged && unknownOwner {
		// The owner may be gone already (or not be watched yet): look it up.
		gc.queue.Add(gcTask{uid: n.uid})
	}
	if old != nil && ownersChanged {
		// An owner deleting its dependents may have one blocker fewer.
		gc.queueOwnersDeletingDependents(old.owners)
	}
	if n.orphaning() && (old == nil || !old.orphaning()) {
		gc.queue.Add(gcTask{uid: n.uid, orphan: true})
	}
	if n.deletingDependents() && (old == nil || !old.deletingDependents()) {
		gc.queue.Add(gcTask{uid: n.uid})
		for _, dep := range gc.graph.dependentsOf(n.uid) {
			gc.queue.Add(gcTask{uid: dep.uid})
		}
	}
}

func (gc *garbageCollector) queueOwnersDeletingDependents(refs []metav1.OwnerReference) {
	for _, ref := range refs {
		if owner := gc.graph.get(ref.UID); owner != nil && owner.deletingDependents() {
			gc.queue.Add(gcTask{uid: ref.UID})
		}
	}
}

// recheckUnseenOwners runs when new monitors have listed their resources: dependents of owners
// still not seen are looked at again (their owner may have gone while nobody watched it).
func (gc *garbageCollector) recheckUnseenOwners() {
	for _, owner := range gc.graph.unseenOwners() {
		for _, dep := range gc.graph.dependentsOf(owner) {
			gc.queue.Add(gcTask{uid: dep.uid})
		}
	}
}

func (gc *garbageCollector) run(ctx context.Context, workers int) {
	defer gc.queue.ShutDown()
	for i := 0; i < workers; i++ {
		go func() {
			for gc.processNext(ctx) {
			}
		}()
	}
	<-ctx.Done()
}

func (gc *garbageCollector) processNext(ctx context.Context) bool {
	task, quit := gc.queue.Get()
	if quit {
		return false
	}
	defer gc.queue.Done(task)
	var err error
	if task.orphan {
		err = gc.orphanDependents(ctx, task.uid)
	} else {
		err = gc.attemptToDelete(ctx, task.uid)
	}
	if err != nil {
		klog.V(2).InfoS("garbage collector: will retry", "uid", task.uid, "err", err)
		gc.queue.AddRateLimited(task)
		return true
	}
	gc.queue.Forget(task)
	return true
}

func (gc *garbageCollector) client(n *node) metadata.ResourceInterface {
	return gc.metadata.Resource(n.resource.gvr).Namespace(n.namespace)
}

// latest reads n live; nil when it is gone (or is another object by now).
func (gc *garbageCollector) latest(ctx context.Context, n *node) (*metav1.PartialObjectMetadata, error) {
	obj, err := gc.client(n).Get(ctx, n.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if obj.UID != n.uid {
		return nil, nil
	}
	return obj, nil
}

func (gc *garbageCollector) attemptToDelete(ctx context.Context, uid types.UID) error {
	n := gc.graph.get(uid)
	if n == nil {
		return nil
	}
	obj, err := gc.latest(ctx, n)
	if err != nil || obj == nil {
		return err
	}
	if obj.DeletionTimestamp != nil {
		if slices.Contains(obj.Finalizers, metav1.FinalizerDeleteDependents) {
			return gc.finishForegroundDeletion(ctx, n)
		}
		// On its way out; its dependents are looked at once it is gone.
		return nil
	}
	if len(obj.OwnerReferences) == 0 {
		return nil
	}
	states := make([]ownerState, len(obj.OwnerReferences))
	for i, ref := range obj.OwnerReferences {
		if states[i], err = gc.lookUpOwner(ctx, n, ref); err != nil {
			return err
		}
	}
	action := decideDependent(obj.OwnerReferences, states, len(gc.graph.dependentsOf(uid)) > 0, obj.Finalizers)
	switch action.verdict {
	case dropOwnerRefs:
		klog.V(2).InfoS("garbage collector: removing references to owners that are gone", "resource", n.resource.gvr, "namespace", n.namespace, "name", n.name)
		return gc.patchMetadata(ctx, n, obj.ResourceVersion, map[string]any{"ownerReferences": action.keep})
	case deleteDependent:
		klog.V(2).InfoS("garbage collector: deleting a dependent whose owners are gone", "resource", n.resource.gvr, "namespace", n.namespace, "name", n.name, "propagation", action.policy)
		err := gc.client(n).Delete(ctx, n.name, metav1.DeleteOptions{
			Preconditions:     &metav1.Preconditions{UID: &n.uid},
			PropagationPolicy: &action.policy,
		})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil // gone already, or a new object by the same name
		}
		return err
	}
	return nil
}

// lookUpOwner reads one owner live.
func (gc *garbageCollector) lookUpOwner(ctx context.Context, dependent *node, ref metav1.OwnerReference) (ownerState, error) {
	res, ok := gc.monitors.resourceFor(ref.APIVersion, ref.Kind)
	if !ok {
		// Perhaps a CRD discovery has not caught up with; never a reason to delete.
		gc.monitors.refreshSoon()
		return 0, fmt.Errorf("owner kind %s %s is not served", ref.APIVersion, ref.Kind)
	}
	namespace := ""
	if res.namespaced {
		if dependent.namespace == "" {
			return ownerInvalid, nil
		}
		namespace = dependent.namespace
	}
	owner, err := gc.metadata.Resource(res.gvr).Namespace(namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return ownerAbsent, nil
	case err != nil:
		return 0, err
	case owner.UID != ref.UID:
		return ownerAbsent, nil
	case owner.DeletionTimestamp != nil && slices.Contains(owner.Finalizers, metav1.FinalizerDeleteDependents):
		return ownerDeletingDependents, nil
	}
	return ownerPresent, nil
}

// finishForegroundDeletion: an owner deleted in the foreground loses its foregroundDeletion
// finalizer once no dependent blocks it; until then its blocking dependents are looked at.
func (gc *garbageCollector) finishForegroundDeletion(ctx context.Context, owner *node) error {
	blocking := gc.graph.blockingDependents(owner.uid)
	if len(blocking) == 0 {
		return gc.removeFinalizer(ctx, owner, metav1.FinalizerDeleteDependents)
	}
	for _, dep := range blocking {
		if !dep.deletingDependents() {
			gc.queue.Add(gcTask{uid: dep.uid})
		}
	}
	return nil
}

// orphanDependents: an owner deleted with the orphan policy first leaves its dependents without
// the reference to it, then loses its orphan finalizer.
func (gc *garbageCollector) orphanDependents(ctx context.Context, uid types.UID) error {
	owner := gc.graph.get(uid)
	if owner == nil {
		return nil
	}
	obj, err := gc.latest(ctx, owner)
	if err != nil || obj == nil {
		return err
	}
	if obj.DeletionTimestamp == nil || !slices.Contains(obj.Finalizers, metav1.FinalizerOrphanDependents) {
		return nil
	}
	for _, dep := range gc.graph.dependentsOf(uid) {
		if err := gc.dropOwnerRef(ctx, dep, uid); err != nil {
			return err
		}
	}
	return gc.removeFinalizer(ctx, owner, metav1.FinalizerOrphanDependents)
}

func (gc *garbageCollector) dropOwnerRef(ctx context.Context, dep *node, owner types.UID) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj, err := gc.latest(ctx, dep)
		if err != nil || obj == nil {
			return err
		}
		keep := slices.DeleteFunc(slices.Clone(obj.OwnerReferences), func(r metav1.OwnerReference) bool { return r.UID == owner })
		if len(keep) == len(obj.OwnerReferences) {
			return nil
		}
		return gc.patchMetadata(ctx, dep, obj.ResourceVersion, map[string]any{"ownerReferences": keep})
	})
}

func (gc *garbageCollector) removeFinalizer(ctx context.Context, n *node, finalizer string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj, err := gc.latest(ctx, n)
		if err != nil || obj == nil {
			return err
		}
		if !slices.Contains(obj.Finalizers, finalizer) {
			return nil
		}
		keep := slices.DeleteFunc(slices.Clone(obj.Finalizers), func(f string) bool { return f == finalizer })
		return gc.patchMetadata(ctx, n, obj.ResourceVersion, map[string]any{"finalizers": keep})
	})
}

// patchMetadata merge-patches metadata fields, guarded by the resourceVersion read (a conflict
// means someone wrote in between: read again).
func (gc *garbageCollector) patchMetadata(ctx context.Context, n *node, resourceVersion string, fields map[string]any) error {
	fields["resourceVersion"] = resourceVersion
	patch, err := json.Marshal(map[string]any{"metadata": fields})
	if err != nil {
		return err
	}
	_, err = gc.client(n).Patch(ctx, n.name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func ownerUIDs(refs []metav1.OwnerReference) []types.UID {
	out := make([]types.UID, len(refs))
	for i, r := range refs {
		out[i] = r.UID
	}
	return out
}

func sameBlocking(a, b []metav1.OwnerReference) bool {
	blocks := func(r metav1.OwnerReference) bool { return r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion }
	return slices.EqualFunc(a, b, func(x, y metav1.OwnerReference) bool { return blocks(x) == blocks(y) })
}
