package main

import (
	"k8s.io/apiextensions-apiserver/pkg/apiserver"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// addControllers runs, inside the server, the controllers a real control plane runs beside its
// API server that tests notice missing: the system namespaces, the namespace controller and the
// garbage collector. They talk to the server over its loopback client like any other client.
func addControllers(s *apiserver.CustomResourceDefinitions) {
	s.GenericAPIServer.AddPostStartHookOrDie("keyward-controllers", func(hook genericapiserver.PostStartHookContext) error {
		config := rest.CopyConfig(hook.LoopbackClientConfig)
		// kube-controller-manager's clients are rate limited; these stay on loopback.
		config.QPS, config.Burst = 500, 1000
		kube, err := kubernetes.NewForConfig(config)
		if err != nil {
			return err
		}
		md, err := metadata.NewForConfig(config)
		if err != nil {
			return err
		}
		monitorDiscovery, err := discovery.NewDiscoveryClientForConfig(config)
		if err != nil {
			return err
		}
		namespaceDiscovery, err := discovery.NewDiscoveryClientForConfig(config)
		if err != nil {
			return err
		}
		ctx := hook.Context

		go keepSystemNamespaces(ctx, kube)

		factory := informers.NewSharedInformerFactory(kube, 0)
		namespaces := newNamespaceController(kube, md, namespaceDiscovery, factory.Core().V1().Namespaces())
		monitors := newResourceMonitors(md, monitorDiscovery)
		collector := newGarbageCollector(md, monitors)
		monitors.observe = func(ev objectEvent) {
			collector.observe(ev)
			namespaces.observe(ev)
		}
		monitors.synced = collector.recheckUnseenOwners
		// A CRD change changes the set of resources to watch.
		poke := func(interface{}) { monitors.refreshSoon() }
		_, err = s.Informers.Apiextensions().V1().CustomResourceDefinitions().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    poke,
			UpdateFunc: func(_, obj interface{}) { poke(obj) },
			DeleteFunc: poke,
		})
		if err != nil {
			return err
		}
		factory.Start(ctx.Done())
		go monitors.run(ctx)
		go collector.run(ctx, 4)
		go namespaces.run(ctx, 4)
		return nil
	})
}
