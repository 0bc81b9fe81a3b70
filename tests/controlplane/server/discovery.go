package main

import (
	"sort"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// syncCRDGroupsIntoDiscovery lists the groups of established CRDs in the unaggregated `/apis`
// document. The apiextensions server feeds only the aggregated discovery document (kubectl's);
// in kube-apiserver the aggregator adds CRD groups to `/apis`, and clients such as kube-rs's
// Discovery read that document.
func syncCRDGroupsIntoDiscovery(s *apiserver.CustomResourceDefinitions) {
	informer := s.Informers.Apiextensions().V1().CustomResourceDefinitions()
	lister := informer.Lister()
	manager := s.GenericAPIServer.DiscoveryGroupManager
	sync := func(group string) {
		if group == "" {
			return
		}
		crds, err := lister.List(labels.Everything())
		if err != nil {
			klog.ErrorS(err, "listing CRDs for discovery")
			return
		}
		seen := map[string]bool{}
		var versions []string
		for _, crd := range crds {
			if crd.Spec.Group != group || !established(crd) {
				continue
			}
			for _, v := range crd.Spec.Versions {
				if v.Served && !seen[v.Name] {
					seen[v.Name] = true
					versions = append(versions, v.Name)
				}
			}
		}
		manager.RemoveGroup(group)
		if len(versions) == 0 {
			return
		}
		sort.Slice(versions, func(i, j int) bool {
			return version.CompareKubeAwareVersionStrings(versions[i], versions[j]) > 0
		})
		apiGroup := metav1.APIGroup{Name: group}
		for _, v := range versions {
			apiGroup.Versions = append(apiGroup.Versions, metav1.GroupVersionForDiscovery{GroupVersion: group + "/" + v, Version: v})
		}
		apiGroup.PreferredVersion = apiGroup.Versions[0]
		manager.AddGroup(apiGroup)
	}
	groupOf := func(obj interface{}) string {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		if crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition); ok {
			return crd.Spec.Group
		}
		return ""
	}
	_, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { sync(groupOf(obj)) },
		UpdateFunc: func(_, obj interface{}) { sync(groupOf(obj)) },
		DeleteFunc: func(obj interface{}) { sync(groupOf(obj)) },
	})
	if err != nil {
		klog.ErrorS(err, "watching CRDs for discovery")
	}
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}
