package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// resourceMonitors watches the metadata of every served resource that can be listed, watched and
// deleted, built-in and custom alike, as kube-controller-manager's garbage collector does. The
// set follows discovery: it is refreshed when a CRD changes and every resyncEvery. Each change
// goes to observe (the garbage collector's graph and the namespace controller).

const resyncEvery = 30 * time.Second

// unmonitored are left out, as kube-controller-manager's garbage collector leaves them out:
// many, short-lived, and never owners.
var unmonitored = sets.New(
	schema.GroupResource{Resource: "events"},
	schema.GroupResource{Group: "events.k8s.io", Resource: "events"},
)

// servedResource is one resource in one version, as discovery lists it.
type servedResource struct {
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
	verbs      sets.Set[string]
}

type eventType int

const (
	objectAdded eventType = iota
	objectUpdated
	objectDeleted
)

// objectEvent is one change seen by a monitor; old is set for updates.
type objectEvent struct {
	typ      eventType
	resource servedResource
	obj      *metav1.PartialObjectMetadata
	old      *metav1.PartialObjectMetadata
}

type monitor struct {
	resource servedResource
	informer cache.SharedIndexInformer
	stop     chan struct{}
}

type resourceMonitors struct {
	metadata  metadata.Interface
	discovery discovery.DiscoveryInterface
	observe   func(objectEvent)
	// synced runs after monitors started by a refresh have listed their resources.
	synced func()
	poke   chan struct{}

	mu      sync.RWMutex
	running map[schema.GroupVersionResource]*monitor
	// byKind maps every served version of every kind (not only the preferred one) to its
	// resource, for owner references.
	byKind map[schema.GroupVersionKind]servedResource
}

func newResourceMonitors(md metadata.Interface, dc discovery.DiscoveryInterface) *resourceMonitors {
	return &resourceMonitors{
		metadata:  md,
		discovery: dc,
		poke:      make(chan struct{}, 1),
		running:   map[schema.GroupVersionResource]*monitor{},
		byKind:    map[schema.GroupVersionKind]servedResource{},
	}
}

// refreshSoon asks for a discovery refresh (CRD changes, unknown owner kinds); requests made
// while one is pending are merged.
func (m *resourceMonitors) refreshSoon() {
	select {
	case m.poke <- struct{}{}:
	default:
	}
}

func (m *resourceMonitors) run(ctx context.Context) {
	ticker := time.NewTicker(resyncEvery)
	defer ticker.Stop()
	for {
		if err := m.refresh(ctx); err != nil {
			klog.ErrorS(err, "resource monitors: discovery incomplete")
		}
		select {
		case <-ctx.Done():
			m.mu.Lock()
			for _, mon := range m.running {
				close(mon.stop)
			}
			m.running = nil
			m.mu.Unlock()
			return
		case <-ticker.C:
		case <-m.poke:
			// Let a burst of CRD updates (accepted, established) settle into discovery.
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// resourceFor maps an owner reference's apiVersion and kind to its resource.
func (m *resourceMonitors) resourceFor(apiVersion, kind string) (servedResource, bool) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return servedResource{}, false
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.byKind[gv.WithKind(kind)]
	return r, ok
}

func (m *resourceMonitors) refresh(ctx context.Context) error {
	groups, lists, discoveryErr := m.discovery.ServerGroupsAndResources()
	var failed *discovery.ErrGroupDiscoveryFailed
	if discoveryErr != nil && !errors.As(discoveryErr, &failed) {
		return discoveryErr
	}
	preferred := map[string]string{}
	for _, g := range groups {
		preferred[g.Name] = g.PreferredVersion.GroupVersion
	}
	byKind := map[schema.GroupVersionKind]servedResource{}
	wanted := map[schema.GroupVersionResource]servedResource{}
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			if strings.Contains(r.Name, "/") {
				continue // subresource
			}
			res := servedResource{gvr: gv.WithResource(r.Name), kind: r.Kind, namespaced: r.Namespaced, verbs: sets.New(r.Verbs...)}
			byKind[gv.WithKind(r.Kind)] = res
			if preferred[gv.Group] == list.GroupVersion && res.verbs.HasAll("list", "watch", "delete") && !unmonitored.Has(res.gvr.GroupResource()) {
				wanted[res.gvr] = res
			}
		}
	}

	m.mu.Lock()
	m.byKind = byKind
	var started []cache.InformerSynced
	for gvr, res := range wanted {
		if m.running[gvr] == nil {
			mon := m.start(res)
			m.running[gvr] = mon
			started = append(started, mon.informer.HasSynced)
		}
	}
	var stopped []*monitor
	// A failed group keeps its monitors: its resources may well still be there.
	if failed == nil {
		for gvr, mon := range m.running {
			if _, ok := wanted[gvr]; !ok {
				delete(m.running, gvr)
				stopped = append(stopped, mon)
			}
		}
	}
	m.mu.Unlock()

	for _, mon := range stopped {
		close(mon.stop)
		m.forget(mon)
	}
	if len(started) > 0 {
		go func() {
			if cache.WaitForCacheSync(ctx.Done(), started...) && m.synced != nil {
				m.synced()
			}
		}()
		klog.InfoS("resource monitors started", "new", len(started), "total", len(wanted))
	}
	return discoveryErr
}

func (m *resourceMonitors) start(res servedResource) *monitor {
	informer := metadatainformer.NewFilteredMetadataInformer(m.metadata, res.gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
	_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			if o, ok := obj.(*metav1.PartialObjectMetadata); ok {
				m.observe(objectEvent{typ: objectAdded, resource: res, obj: o})
			}
		},
		UpdateFunc: func(oldObj, newObj interface{}) {
			o, ok1 := newObj.(*metav1.PartialObjectMetadata)
			old, ok2 := oldObj.(*metav1.PartialObjectMetadata)
			if ok1 && ok2 {
				m.observe(objectEvent{typ: objectUpdated, resource: res, obj: o, old: old})
			}
		},
		DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if o, ok := obj.(*metav1.PartialObjectMetadata); ok {
				m.observe(objectEvent{typ: objectDeleted, resource: res, obj: o})
			}
		},
	})
	if err != nil {
		klog.ErrorS(err, "resource monitors: adding a handler", "resource", res.gvr)
	}
	mon := &monitor{resource: res, informer: informer, stop: make(chan struct{})}
	go informer.Run(mon.stop)
	return mon
}

// forget reports every object of a stopped monitor as deleted: nothing will report their
// deletion any more, and whoever observes them looks the truth up live anyway.
func (m *resourceMonitors) forget(mon *monitor) {
	for _, obj := range mon.informer.GetStore().List() {
		if o, ok := obj.(*metav1.PartialObjectMetadata); ok {
			m.observe(objectEvent{typ: objectDeleted, resource: mon.resource, obj: o})
		}
	}
}
