package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/discovery"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// The namespace controller of kube-controller-manager: a terminating namespace is emptied (every
// namespaced resource discovery lists, built-in and custom), its progress is written to its
// status conditions, and once nothing is left its "kubernetes" finalizer is removed, which lets
// the API server delete it.
//
// A namespace whose content is still there (finalizers that other controllers have to remove)
// is looked at again as soon as an object in it changes or goes (the resource monitors report
// that), and otherwise with a growing delay, up to retryAtMost: that is only a safety net, and
// namespaces kept forever by finalizers nobody removes (tests that stop their operator first)
// must not keep the server busy.

const (
	retryFirst  = time.Second
	retryAtMost = 5 * time.Minute
	// contentSettles merges the burst of events a namespace's own emptying causes into one pass.
	contentSettles = 100 * time.Millisecond
)

type namespaceController struct {
	kube      kubernetes.Interface
	metadata  metadata.Interface
	discovery discovery.DiscoveryInterface
	lister    corelisters.NamespaceLister
	synced    cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
}

func newNamespaceController(kube kubernetes.Interface, md metadata.Interface, dc discovery.DiscoveryInterface, namespaces coreinformers.NamespaceInformer) *namespaceController {
	c := &namespaceController{
		kube:      kube,
		metadata:  md,
		discovery: dc,
		lister:    namespaces.Lister(),
		synced:    namespaces.Informer().HasSynced,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](retryFirst, retryAtMost),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "namespace"}),
	}
	queueIfTerminating := func(obj interface{}) {
		if ns, ok := obj.(*corev1.Namespace); ok && ns.DeletionTimestamp != nil {
			c.queue.Add(ns.Name)
		}
	}
	_, err := namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    queueIfTerminating,
		UpdateFunc: func(_, obj interface{}) { queueIfTerminating(obj) },
	})
	if err != nil {
		klog.ErrorS(err, "namespace controller: adding a handler")
	}
	return c
}

// observe: a change to an object in a terminating namespace may be what it waits for.
func (c *namespaceController) observe(ev objectEvent) {
	if ev.typ == objectAdded || ev.obj.Namespace == "" {
		return
	}
	ns, err := c.lister.Get(ev.obj.Namespace)
	if err == nil && ns.DeletionTimestamp != nil {
		c.queue.AddAfter(ns.Name, contentSettles)
	}
}

func (c *namespaceController) run(ctx context.Context, workers int) {
	defer c.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	for i := 0; i < workers; i++ {
		go func() {
			for c.processNext(ctx) {
			}
		}()
	}
	<-ctx.Done()
}

func (c *namespaceController) processNext(ctx context.Context) bool {
	name, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(name)
	again, err := c.sync(ctx, name)
	switch {
	case err != nil:
		klog.InfoS("namespace controller: will retry", "namespace", name, "err", err)
		c.queue.AddRateLimited(name)
	case again:
		c.queue.AddRateLimited(name)
	default:
		c.queue.Forget(name)
	}
	return true
}

// sync takes one terminating namespace one step further; again means content is still there.
func (c *namespaceController) sync(ctx context.Context, name string) (again bool, err error) {
	namespaces := c.kube.CoreV1().Namespaces()
	ns, err := namespaces.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if ns.DeletionTimestamp == nil || !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		return false, nil
	}
	if ns.Status.Phase != corev1.NamespaceTerminating {
		ns.Status.Phase = corev1.NamespaceTerminating
		if ns, err = namespaces.UpdateStatus(ctx, ns, metav1.UpdateOptions{}); err != nil {
			return false, err
		}
	}

	report := c.removeContent(ctx, name)
	if mergeConditions(&ns.Status, report.conditions(), metav1.Now()) {
		if _, err := namespaces.UpdateStatus(ctx, ns, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			// Conditions are progress reports: the next pass writes them again.
			klog.InfoS("namespace controller: writing conditions", "namespace", name, "err", err)
		}
	}
	if err := report.err(); err != nil {
		return false, err
	}
	if report.total() > 0 {
		return true, nil
	}

	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ns, err := namespaces.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ns.Spec.Finalizers = slices.DeleteFunc(ns.Spec.Finalizers, func(f corev1.FinalizerName) bool { return f == corev1.FinalizerKubernetes })
		_, err = namespaces.Finalize(ctx, ns, metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return false, err
}

// deletableResource is a namespaced resource the controller empties.
type deletableResource struct {
	gvr              schema.GroupVersionResource
	deleteCollection bool
}

// removeContent deletes what is left in the namespace and reports what is still there.
func (c *namespaceController) removeContent(ctx context.Context, namespace string) *contentReport {
	report := &contentReport{remaining: map[schema.GroupVersionResource]int{}, finalizers: map[string]int{}}
	resources, err := c.deletableResources()
	report.discoveryErr = err
	for _, res := range resources {
		if err := c.removeResource(ctx, namespace, res, report); err != nil {
			report.deleteErrs = append(report.deleteErrs, err)
		}
	}
	return report
}

// deletableResources lists the preferred version of every namespaced resource that can be
// listed and deleted. With some groups failing discovery the others are still returned.
func (c *namespaceController) deletableResources() ([]deletableResource, error) {
	lists, err := c.discovery.ServerPreferredNamespacedResources()
	var failed *discovery.ErrGroupDiscoveryFailed
	if err != nil && !errors.As(err, &failed) {
		return nil, err
	}
	var out []deletableResource
	for _, list := range lists {
		gv, parseErr := schema.ParseGroupVersion(list.GroupVersion)
		if parseErr != nil {
			continue
		}
		for _, r := range list.APIResources {
			verbs := sets.New(r.Verbs...)
			if !verbs.HasAll("list", "delete") {
				continue
			}
			out = append(out, deletableResource{gvr: gv.WithResource(r.Name), deleteCollection: verbs.Has("deletecollection")})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].gvr.String() < out[j].gvr.String() })
	return out, err
}

func (c *namespaceController) removeResource(ctx context.Context, namespace string, res deletableResource, report *contentReport) error {
	client := c.metadata.Resource(res.gvr).Namespace(namespace)
	list, err := client.List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
		return nil // the resource went away since discovery
	}
	if err != nil {
		return err
	}
	undeleted := slices.ContainsFunc(list.Items, func(o metav1.PartialObjectMetadata) bool { return o.DeletionTimestamp == nil })
	if !undeleted {
		countRemaining(res.gvr, list.Items, report)
		return nil
	}
	background := metav1.DeletePropagationBackground
	options := metav1.DeleteOptions{PropagationPolicy: &background}
	if res.deleteCollection {
		err = client.DeleteCollection(ctx, options, metav1.ListOptions{})
	} else {
		for _, item := range list.Items {
			if item.DeletionTimestamp != nil {
				continue
			}
			if e := client.Delete(ctx, item.Name, options); e != nil && !apierrors.IsNotFound(e) {
				err = e
			}
		}
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if list, err = client.List(ctx, metav1.ListOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	if !countRemaining(res.gvr, list.Items, report) {
		return fmt.Errorf("unexpected items still remain in namespace: %s for gvr: %v", namespace, res.gvr)
	}
	return nil
}

// countRemaining adds items to the report; false when some item is left although no finalizer
// holds it.
func countRemaining(gvr schema.GroupVersionResource, items []metav1.PartialObjectMetadata, report *contentReport) bool {
	if len(items) == 0 {
		return true
	}
	report.remaining[gvr] += len(items)
	held := false
	for _, item := range items {
		for _, f := range item.Finalizers {
			report.finalizers[f]++
			held = true
		}
	}
	return held
}
